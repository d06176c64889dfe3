/** The chat layer the platform adapters (bots/slack, bots/discord) use. */
export * from "./types.ts";
export * from "./commands.ts";
export * from "./messages.ts";
export { NotifyThrottle, notifyKey } from "./notify.ts";
export { ChatController, cardRef, type ChatControllerDeps } from "./controller.ts";
export { ChatBridge, chatGroup, type ChatBridgeDeps } from "./bridge.ts";
export { Delivery, DeliveryError, DEFAULT_RETRY, retryDelayMs, tunedDelivery } from "./delivery.ts";
export type { DeliveryErrorCode, DeliveryLimits, DeliveryOptions, DeliveryTuning, Failure, Rate, RetryInfo, RetryPolicy } from "./delivery.ts";
