/**
 * An Error with a stable code: what travels in Nacks, metrics and problem documents is the
 * code, the message is for people. The planes' coded errors (snapshot, config apply, upstream
 * connect) extend it and name themselves.
 */
export class CodedError<Code extends string = string> extends Error {
  readonly code: Code;
  constructor(code: Code, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}
