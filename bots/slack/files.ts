/**
 * Which downloads get the Slack bot token. Files shared in Slack are `url_private` links on files.slack.com (or
 * on the configured Slack API host, in tests and behind proxies) that need `Authorization: Bearer <bot token>`.
 * The runner knows nothing of Slack: the command line builds this rule from the Slack config and hands it to the
 * runner as `headersFor` (runner/worker.ts), which passes it to the downloader (fetchDatasets never logs headers).
 * Imports nothing of Slack's SDK, so a runner process loads no bot code.
 */

/** The headers for a download from `url`: the bot token for Slack's file hosts only, nothing elsewhere. */
export type HeadersFor = (url: URL) => Record<string, string> | undefined;

export function slackFileHeaders(slack: { botToken?: string; apiUrl: string }): HeadersFor {
  const hosts = new Set(["files.slack.com"]);
  if (slack.apiUrl) {
    try {
      hosts.add(new URL(slack.apiUrl).host.toLowerCase());
    } catch {
      // not a URL: only files.slack.com gets the token
    }
  }
  const token = slack.botToken;
  return (url) => (token && hosts.has(url.host.toLowerCase()) ? { Authorization: `Bearer ${token}` } : undefined);
}
