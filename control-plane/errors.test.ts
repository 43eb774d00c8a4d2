import assert from "node:assert/strict";
import { test } from "node:test";
import { status as grpcJsStatus } from "@grpc/grpc-js";
import { readCatalogueRows } from "../test/support/catalogue-table.ts";
import { CorralError, ERROR_CATALOGUE, type ErrorCode, GrpcStatus, toProblem } from "./errors.ts";

const grpcName = (value: number) => Object.entries(GrpcStatus).find(([, v]) => v === value)?.[0];

test("errors.md documents exactly the catalogue, row for row", () => {
  const rows = readCatalogueRows(new URL("./errors.md", import.meta.url));
  assert.deepEqual([...rows.keys()].sort(), Object.keys(ERROR_CATALOGUE).sort());
  for (const [code, spec] of Object.entries(ERROR_CATALOGUE)) {
    const ws = "wsClose" in spec ? String(spec.wsClose) : "";
    assert.deepEqual(rows.get(code), [String(spec.http), grpcName(spec.grpc), ws, spec.title], code);
  }
});

test("every code is CORRAL_<AREA>_<WHAT> with an error HTTP status and a non-OK gRPC status", () => {
  for (const [code, spec] of Object.entries(ERROR_CATALOGUE)) {
    assert.match(code, /^CORRAL_[A-Z]+_[A-Z][A-Z_]*$/);
    assert.ok(spec.http >= 400 && spec.http < 600, code);
    assert.ok(spec.grpc > 0 && grpcName(spec.grpc), code);
  }
});

test("gRPC status numbers agree with @grpc/grpc-js", () => {
  for (const [name, value] of Object.entries(GrpcStatus)) {
    assert.equal(grpcJsStatus[name as keyof typeof grpcJsStatus], value, name);
  }
});

test("toProblem builds RFC 9457 members that extensions cannot override", () => {
  const err = new CorralError("CORRAL_ADMIN_NOT_FOUND", "tenant acme not found", {
    status: 200,
    code: "X",
    id: 1,
  });
  assert.deepEqual(toProblem(err), {
    type: "urn:corral:error:CORRAL_ADMIN_NOT_FOUND",
    title: "No such resource",
    status: 404,
    detail: "tenant acme not found",
    code: "CORRAL_ADMIN_NOT_FOUND",
    id: 1,
  });
  assert.equal(err.grpcStatus, GrpcStatus.NOT_FOUND);
});

test("a CorralError without detail uses the title", () => {
  const code: ErrorCode = "CORRAL_ADMIN_FORBIDDEN";
  const err = new CorralError(code);
  assert.equal(err.message, ERROR_CATALOGUE[code].title);
  assert.equal(err.status, 403);
});
