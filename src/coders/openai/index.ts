export {
  ANSWER_ATTEMPTS,
  DEFAULT_BASE_URL,
  MAX_SCRIPT_CHARS,
  MAX_SUMMARY_CHARS,
  OpenAICoder,
  PLACEHOLDER_API_KEY,
  REVIEW_TOOL,
  checkEndpoint,
  fallbackReview,
  parseReviewArguments,
  type CheckEndpointOptions,
  type OpenAICoderOptions,
} from "./coder.ts";
export { displayEndpoint, redact, toModelError, type ErrorContext } from "./errors.ts";
export { DEFAULT_PRICES, costOf, priceOf, usageCost, type ModelPrice, type PriceTable } from "./pricing.ts";
