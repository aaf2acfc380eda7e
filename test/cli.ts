import { runCli } from "../scripts/render";

/** `npm run render|policy` in process: its exit code and what it printed. */
export async function renderCli(argv: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await runCli(argv, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
  });
  return { code, stdout, stderr };
}
