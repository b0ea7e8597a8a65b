"""The one door to Twilio: `gateway` (SDK client, retries, paging, upload, counting) and one
module per product (`studio`, `serverless`, `numbers`) whose functions are the only code that
calls the `twilio` SDK. They return typed records, not SDK objects, so providers can be
tested against them."""
