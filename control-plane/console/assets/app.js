/**
 * The console's shell: sign-in (a pasted token, or a sign-in link's #token=… moved into session
 * storage), the three pages, problem+json errors, and the poll that keeps the fleet page live.
 */
import { api, clearToken, session, setToken, takeTokenFromFragment, token } from "./api.js";
import { problemText } from "./dom.js";
import { fleetPage } from "./fleet.js";
import { placementPage } from "./placement.js";
import { tenantsPage } from "./tenants.js";

/** How often the fleet page asks the admin API again. */
export const POLL_MS = 2000;

const $ = (id) => document.getElementById(id);
const problemBox = $("problem");
const noticeBox = $("notice");

function showProblem(err) {
  noticeBox.textContent = "";
  problemBox.textContent = problemText(err);
  if (err?.status === 401) signOut();
}

function notice(text) {
  problemBox.textContent = "";
  noticeBox.textContent = text;
}

const shell = { notice, showProblem };
const builders = { fleet: fleetPage, placement: placementPage, tenants: tenantsPage };
const pages = {};
let current = null;
let timer = null;

async function show(name) {
  current = pages[name] ??= builders[name](shell);
  for (const b of document.querySelectorAll("#nav button"))
    b.setAttribute("aria-current", b.dataset.page === name ? "page" : "false");
  $("page").replaceChildren(current.element);
  $("page").dataset.page = name;
  $("page").dataset.loaded = "false";
  clearTimeout(timer);
  await tick();
}

async function tick() {
  const page = current;
  try {
    await page.refresh();
    $("page").dataset.loaded = "true";
  } catch (err) {
    showProblem(err);
  }
  if (page.polls && page === current && session.operator) timer = setTimeout(tick, POLL_MS);
}

function signOut() {
  clearTimeout(timer);
  clearToken();
  session.operator = null;
  for (const name of Object.keys(pages)) delete pages[name];
  $("page").replaceChildren();
  $("nav").hidden = true;
  $("who").hidden = true;
  $("sign-out").hidden = true;
  $("sign-in").hidden = false;
}

async function signIn() {
  try {
    session.operator = await api("GET", "whoami");
  } catch (err) {
    showProblem(err);
    signOut();
    return;
  }
  const { name, role } = session.operator;
  $("who").textContent = `Signed in as ${name} (${role}${role === "viewer" ? ": read only" : ""})`;
  $("who").dataset.role = role;
  $("sign-in").hidden = true;
  $("nav").hidden = false;
  $("who").hidden = false;
  $("sign-out").hidden = false;
  await show("fleet");
}

$("sign-in").addEventListener("submit", (e) => {
  e.preventDefault();
  setToken($("token").value.trim());
  $("token").value = "";
  signIn();
});
$("sign-out").addEventListener("click", () => {
  notice("Signed out.");
  signOut();
});
for (const b of document.querySelectorAll("#nav button"))
  b.addEventListener("click", () => show(b.dataset.page));

takeTokenFromFragment();
if (token()) signIn();
else signOut();
