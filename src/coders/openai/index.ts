export { ANSWER_ATTEMPTS, DEFAULT_BASE_URL, MAX_SCRIPT_CHARS, OpenAICoder, PLACEHOLDER_API_KEY, type OpenAICoderOptions } from "./coder.ts";
export { displayEndpoint, redact, toModelError, type ErrorContext } from "./errors.ts";
export { checkModels, formatModelCheck, modelCheckLine, type ModelCheck, type ModelCheckOptions, type ModelCheckReport } from "./model-check.ts";
export { isReasoningModel, ModelProfiles, type ModelProfile, type ReasoningEffort } from "./model-profile.ts";
export { fallbackReview, MAX_SUMMARY_CHARS, parseReviewArguments, REVIEW_TOOL } from "./review-answer.ts";
export { splitReasoning } from "./reply.ts";
export { DEFAULT_PRICES, costOf, priceOf, usageCost, type ModelPrice, type PriceTable } from "./pricing.ts";
