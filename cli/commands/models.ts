import type { Command } from "commander";
import { checkCoder } from "../../src/coders/index.ts";
import { formatModelCheck } from "../../src/coders/openai/index.ts";
import { loadConfig } from "../../src/config.ts";
import { createLogger } from "../../src/logger.ts";
import { logLevel } from "./common.ts";

interface ModelsCheckFlags {
  baseUrl?: string;
  codeModel?: string;
  reviewModel?: string;
  json?: boolean;
}

/** `aide models check`: what the endpoint and the models take, and what aide will send them. */
export function registerModelsCommand(program: Command): void {
  const models = program.command("models").description("Check model endpoints and what their models take.");
  models
    .command("check")
    .description(
      "Ask the endpoint (a few tiny requests per model) whether it answers, knows the models, and takes what aide sends: " +
        "temperature, max_completion_tokens or max_tokens, reasoning_effort, tools for the review, JSON mode, streaming. " +
        "Prints what aide will send each model. Exit code 1 with one line when a model cannot be used.",
    )
    .option(
      "--base-url <url>",
      "OpenAI-compatible endpoint (env OPENAI_BASE_URL; key from OPENAI_API_KEY; default api.openai.com)",
    )
    .option("--code-model <model>", "model that writes scripts (env AIDE_CODE_MODEL)")
    .option(
      "--review-model <model>",
      "model that reviews runs (env AIDE_REVIEW_MODEL; default: the code model when only --code-model is given)",
    )
    .option("--json", "print the report as JSON")
    .action(async (flags: ModelsCheckFlags) => {
      const openai: Record<string, string> = {};
      if (flags.baseUrl) openai.baseUrl = flags.baseUrl;
      if (flags.codeModel) openai.codeModel = flags.codeModel;
      const review =
        flags.reviewModel ?? (flags.codeModel && !process.env.AIDE_REVIEW_MODEL ? flags.codeModel : undefined);
      if (review) openai.reviewModel = review;
      const config = loadConfig({ overrides: { coder: "openai", openai } });
      const logger = createLogger({ level: logLevel(config, "silent") });
      const report = (await checkCoder(config, logger))!;
      process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatModelCheck(report)}\n`);
    });
}
