// Shared helpers of the interop scripts: one JSON line per operation on stdout.
//
// Each line is {"sdk", "op", "result", "detail"} with result one of "pass", "fail",
// "unsupported" or "skipped" (an operation not run because one it needs failed first).
// `cargo xtask interop` reads these lines and builds its table; anything else the SDKs
// print goes to stderr, so console.log is redirected there.

import { randomBytes } from "node:crypto";

const DETAIL_LIMIT = 400;
const stdoutWrite = process.stdout.write.bind(process.stdout);
console.log = (...args) => console.error(...args);
console.info = (...args) => console.error(...args);

export function env(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`interop: the environment variable ${name} is not set (run it under \`pats-sim env\`)`);
    process.exit(2);
  }
  return value;
}

/**
 * POSTs `body` to the emulator's admin API on `baseUrl` (the port of the provider it acts on),
 * with the per-run admin token of the exports when there is one; the JSON answer.
 */
export async function adminPost(baseUrl, path, body) {
  const headers = { "content-type": "application/json" };
  if (process.env.PATS_SIM_ADMIN_TOKEN) headers.authorization = `Bearer ${process.env.PATS_SIM_ADMIN_TOKEN}`;
  const answer = await fetch(`${baseUrl}/_pats_sim/${path}`, {
    method: "POST",
    headers,
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const json = await answer.json();
  if (!answer.ok) throw new Error(`admin ${path} answered ${answer.status}: ${JSON.stringify(json)}`);
  return json;
}

export function unique(prefix) {
  return `${prefix}-${randomBytes(5).toString("hex")}`;
}

export class CheckFailed extends Error {}

export function expect(condition, message) {
  if (!condition) throw new CheckFailed(message);
}

/**
 * The HTTP status an SDK error carries: axios-style `response.status`, `httpStatus`, `status`,
 * or gitbeaker's `cause.response` (the fetch Response of a GitbeakerRequestError).
 */
export function statusOf(error) {
  return error?.response?.status ?? error?.httpStatus ?? error?.status ?? error?.cause?.response?.status;
}

/** A short, single-line account of an error, with the HTTP status and body where the SDK keeps them. */
export function describe(error) {
  const parts = [`${error?.name ?? "Error"}: ${error?.message ?? String(error)}`];
  const status = statusOf(error);
  if (status !== undefined) parts.push(`status=${status}`);
  const body = error?.response?.data ?? error?.context?.body ?? error?.body;
  if (body !== undefined) parts.push(`body=${typeof body === "string" ? body : JSON.stringify(body)}`);
  if (error?.code !== undefined && typeof error.code !== "function") parts.push(`code=${error.code}`);
  if (error?.cause) parts.push(`cause=${error.cause?.message ?? error.cause?.description ?? error.cause}`);
  return parts.join(" | ").replace(/\n/g, " ").slice(0, DETAIL_LIMIT);
}

/**
 * `call()` must fail with an SDK error carrying HTTP `status`: the emulator's error answer has
 * the provider's shape, which the SDK parsed. Returns the error's description.
 */
export async function expectStatus(status, call) {
  try {
    await call();
  } catch (error) {
    const got = statusOf(error);
    expect(got === status, `expected HTTP ${status}, got ${describe(error)}`);
    return describe(error);
  }
  throw new CheckFailed(`expected HTTP ${status}, the call succeeded`);
}

export class Reporter {
  constructor(sdk) {
    this.sdk = sdk;
  }

  emit(op, result, detail = "") {
    const line = { sdk: this.sdk, op, result, detail: String(detail).slice(0, DETAIL_LIMIT) };
    stdoutWrite(JSON.stringify(line) + "\n");
  }

  unsupported(op, why) {
    this.emit(op, "unsupported", why);
  }

  skipped(op, why) {
    this.emit(op, "skipped", why);
  }

  /**
   * Runs `call()`; passes if it resolves and `check(value)` (if given) does not throw.
   * Returns the value, or undefined when the step failed or was skipped. `needs` is true,
   * or a string saying which earlier step this one needed failed.
   */
  async step(op, call, { check, needs = true } = {}) {
    if (needs !== true) {
      this.skipped(op, needs || "an earlier step failed");
      return undefined;
    }
    let value;
    let detail;
    try {
      value = await call();
      detail = check ? check(value) : undefined;
    } catch (error) {
      if (error instanceof CheckFailed) {
        this.emit(op, "fail", `unexpected answer: ${error.message}`);
      } else {
        this.emit(op, "fail", describe(error));
        console.error(`[${this.sdk}] ${op}:`, error);
      }
      return undefined;
    }
    this.emit(op, "pass", detail ?? "");
    return value ?? true;
  }
}
