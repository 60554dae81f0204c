// Track a UP42 job to the end, then print its tasks' logs and the credits it used.
//
// Uses only the client generated from openapi/up42-jobs.yaml (openapi-typescript types +
// openapi-fetch), so it proves the spec makes a working client in a second language.
//
//   UP42_BASE_URL=... UP42_PROJECT_ID=... UP42_PROJECT_API_KEY=... node build/examples/track-job.js JOB_ID
//
// Settings (environment): UP42_BASE_URL (default https://api.up42.com), UP42_PROJECT_ID,
// UP42_PROJECT_API_KEY, UP42_JOB_ID (or the first argument), UP42_POLL_INTERVAL (seconds,
// default 5), UP42_TIMEOUT (seconds, default 3600).
// Exit status: 0 when the job SUCCEEDED, 1 when it ended otherwise or a call failed,
// 2 on bad settings.

import process from "node:process";
import { setTimeout as sleep } from "node:timers/promises";

import createClient, { type Middleware } from "openapi-fetch";

import type { components, paths } from "../generated/schema.js";

type JobStatus = components["schemas"]["JobStatus"];
type KnownJobStatus = components["schemas"]["KnownJobStatus"];

/** Statuses after which a job never changes. The server may add statuses: any other one means "not yet". */
const TERMINAL: ReadonlySet<JobStatus> = new Set<KnownJobStatus>(["SUCCEEDED", "FAILED", "ERROR", "CANCELLED"]);
/** Other spellings the service used for a known status (the spec's KnownJobStatus names them). */
const SPELLINGS: Readonly<Record<string, KnownJobStatus>> = { NOT_STARTED: "NOT STARTED" };
/** A status in its documented spelling (unknown ones as they came). */
const known = (status: JobStatus): JobStatus => SPELLINGS[status] ?? status;
/** A token answer without `expires_in` lives five minutes, as the classic SDK assumed. */
const DEFAULT_TOKEN_SECONDS = 300;
/** Answers worth a retry of an idempotent call (rate limit, proxy and overload errors). */
const RETRYABLE = new Set([429, 502, 503, 504]);
const MAX_RETRIES = 4;
const TOKEN_PATH = "/oauth/token";

class UsageError extends Error {}
class ApiError extends Error {}

interface Settings {
  baseUrl: string;
  projectId: string;
  apiKey: string;
  jobId: string;
  pollInterval: number;
  timeout: number;
}

function readSettings(): Settings {
  const need = (name: string): string => {
    const value = process.env[name]?.trim();
    if (!value) throw new UsageError(`set ${name}`);
    return value;
  };
  const seconds = (name: string, fallback: number): number => {
    const raw = process.env[name]?.trim();
    if (!raw) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0) {
      throw new UsageError(`${name} must be a number of seconds, not ${JSON.stringify(raw)}`);
    }
    return value;
  };
  const jobId = process.argv[2]?.trim() || process.env["UP42_JOB_ID"]?.trim();
  if (!jobId) throw new UsageError("pass the job id as the first argument or set UP42_JOB_ID");
  return {
    baseUrl: process.env["UP42_BASE_URL"]?.trim() || "https://api.up42.com",
    projectId: need("UP42_PROJECT_ID"),
    apiKey: need("UP42_PROJECT_API_KEY"),
    jobId,
    pollInterval: seconds("UP42_POLL_INTERVAL", 5),
    timeout: seconds("UP42_TIMEOUT", 3600),
  };
}

/**
 * What went wrong in a failed call, from the answer's body: an envelope, an OAuth error, an
 * RFC 7807 problem (title and detail), or text.
 */
function describe(error: unknown): string {
  if (error && typeof error === "object") {
    const body = error as { error?: unknown; error_description?: unknown; title?: unknown; detail?: unknown };
    const inner = body.error;
    if (inner && typeof inner === "object" && "message" in inner) return String(inner.message);
    if (typeof inner === "string") return body.error_description ? `${inner}: ${String(body.error_description)}` : inner;
    const problem = [body.title, body.detail].filter((part) => typeof part === "string" && part !== "");
    if (problem.length > 0) return problem.join(": ");
  }
  const text = typeof error === "string" ? error : JSON.stringify(error);
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

type FetchResult<T> = { data?: T; error?: unknown; response: Response };

/** The data of a successful call; an ApiError naming the call, status and reason otherwise. */
function unwrap<T>(what: string, result: FetchResult<T>): T {
  const { data, error, response } = result;
  if (!response.ok || data === undefined) {
    throw new ApiError(`${what} failed: HTTP ${response.status} ${response.statusText} - ${describe(error)}`.trimEnd());
  }
  return data;
}

/** An exception's message with its cause (fetch says "fetch failed"; the cause says why). */
function reason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause instanceof Error ? `${error.message} (${error.cause.message})` : error.message;
}

function retryDelayMs(response: Response, attempt: number): number {
  const header = response.headers.get("Retry-After");
  const seconds = header === null ? Number.NaN : Number(header);
  const fromHeader = Number.isFinite(seconds) ? seconds * 1000 : header ? Date.parse(header) - Date.now() : Number.NaN;
  const backoff = Number.isFinite(fromHeader) ? fromHeader : 250 * 2 ** attempt;
  return Math.min(Math.max(backoff, 0), 10_000);
}

async function main(): Promise<number> {
  const settings = readSettings();
  const { projectId, jobId } = settings;
  const client = createClient<paths>({ baseUrl: settings.baseUrl });

  // Access tokens: client credentials over HTTP Basic, kept until shortly before they expire.
  let token: { value: string; renewAt: number } | undefined;
  async function accessToken(): Promise<string> {
    if (token && Date.now() < token.renewAt) return token.value;
    const basic = Buffer.from(`${settings.projectId}:${settings.apiKey}`).toString("base64");
    const answer = await call("getting an access token", () =>
      client.POST(TOKEN_PATH, {
        headers: { Authorization: `Basic ${basic}`, "Content-Type": "application/x-www-form-urlencoded" },
        body: { grant_type: "client_credentials" },
      }),
    );
    const lifetime = (answer.expires_in ?? DEFAULT_TOKEN_SECONDS) * 1000;
    token = { value: answer.access_token, renewAt: Date.now() + lifetime - Math.min(30_000, lifetime / 10) };
    return token.value;
  }

  // Every API call but the token's own carries the bearer token.
  client.use({
    async onRequest({ request, schemaPath }) {
      if (schemaPath === TOKEN_PATH) return undefined;
      request.headers.set("Authorization", `Bearer ${await accessToken()}`);
      return request;
    },
  } satisfies Middleware);

  /**
   * One API call's data, or an ApiError naming the call, the status and the reason. Every call
   * made here is safe to repeat, so it is: once with a new token after a 401 (the token expired),
   * and after a pause on rate limits and gateway errors. `mediaType`: the content type a
   * successful answer must have when the body is not parsed as JSON (a proxy's HTML page is no log).
   */
  async function call<T>(what: string, send: () => Promise<FetchResult<T>>, mediaType?: string): Promise<T> {
    let renewed = false;
    for (let attempt = 0; ; attempt++) {
      let result: FetchResult<T>;
      try {
        result = await send();
      } catch (error) {
        if (error instanceof ApiError) throw error; // the token call inside failed; it says so
        // No answer (connection refused, reset) or a body that is not the JSON it claims to be.
        throw new ApiError(`${what} failed: ${reason(error)}`);
      }
      const { status } = result.response;
      const contentType = result.response.headers.get("Content-Type") ?? "";
      if (result.response.ok && mediaType && !contentType.startsWith(mediaType)) {
        throw new ApiError(`${what} failed: the answer is ${contentType || "untyped"}, not ${mediaType}`);
      }
      if (status === 401 && token && !renewed) {
        renewed = true;
        token = undefined;
      } else if (RETRYABLE.has(status) && attempt < MAX_RETRIES) {
        await sleep(retryDelayMs(result.response, attempt));
      } else {
        return unwrap(what, result);
      }
    }
  }

  const path = { project_id: projectId, job_id: jobId };

  // 1. Follow the job until it ends.
  const started = Date.now();
  let lastStatus: JobStatus | undefined;
  for (;;) {
    const { data: job } = await call("getting the job", () =>
      client.GET("/projects/{project_id}/jobs/{job_id}", { params: { path } }),
    );
    const status = known(job.status);
    if (status !== lastStatus) {
      const elapsed = ((Date.now() - started) / 1000).toFixed(1);
      console.log(`job ${job.id} (${job.name ?? "unnamed"}): ${status} [${elapsed} s]`);
      lastStatus = status;
    }
    if (TERMINAL.has(status)) break;
    if (Date.now() - started > settings.timeout * 1000) {
      throw new ApiError(`job ${jobId} is still ${status} after ${settings.timeout} s; giving up`);
    }
    await sleep(settings.pollInterval * 1000);
  }

  // 2. Its tasks and their logs.
  const { data: tasks } = await call("listing the tasks", () =>
    client.GET("/projects/{project_id}/jobs/{job_id}/tasks/", { params: { path } }),
  );
  console.log(`\n${tasks.length} task(s):`);
  for (const task of tasks) {
    console.log(`\n--- task ${task.name} (${task.id}): ${known(task.status)} ---`);
    const log = await call(`getting the log of task ${task.id}`, () =>
      client.GET("/projects/{project_id}/jobs/{job_id}/tasks/{task_id}/logs", {
        params: { path: { ...path, task_id: task.id } },
        parseAs: "text",
      }),
      "text/plain",
    );
    process.stdout.write(log.endsWith("\n") || log === "" ? log : `${log}\n`);
  }

  // 3. The credits it used.
  const { data: credits } = await call("getting the credits", () =>
    client.GET("/projects/{project_id}/jobs/{job_id}/credits", { params: { path } }),
  );
  console.log(`\ncredits used: ${credits.creditsUsed}`);

  if (lastStatus !== "SUCCEEDED") {
    console.error(`job ${jobId} ended ${lastStatus}`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`track-job: ${error.message}`);
      process.exitCode = 2;
    } else if (error instanceof ApiError) {
      console.error(`track-job: ${error.message}`);
      process.exitCode = 1;
    } else {
      console.error("track-job: unexpected error:", error);
      process.exitCode = 1;
    }
  },
);
