export { MAX_SCRIPT_CHARS, OpenAICoder, type OpenAICoderOptions } from "./coder.ts";
export { redact, toModelError } from "./errors.ts";
export {
  checkModels,
  formatModelCheck,
  modelCheckLine,
  type ModelCheckOptions,
  type ModelCheckReport,
} from "./model-check.ts";
export { isReasoningModel, ModelProfiles } from "./model-profile.ts";
export { MAX_SUMMARY_CHARS } from "./review-answer.ts";
export { splitReasoning } from "./reply.ts";
export { DEFAULT_PRICES, costOf, priceOf, usageCost } from "./pricing.ts";
