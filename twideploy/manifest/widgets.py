"""The Studio widget library as far as `validate` checks it.

Sources: Twilio's flow-definition JSON Schema (the list of widget types), the widget-library
pages (transition events, required configuration), cross-checked with the widget structs of
the public twilio-sdk-go (`studio/widgets/*.go`). Where Twilio documents a default for a
property (send-message `from`/`to`, send-and-wait `timeout`, connect-call-to `caller_id`), it
is not required here: the Console fills such defaults in, hand-written YAML need not.

`required` is a list of alternatives groups: each group needs at least one of its keys. The
symbolic keys `function` (run-function) and `flow` (run-subflow) satisfy the groups of the
SIDs they compile to.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Widget:
    type: str
    title: str
    events: tuple[str, ...] | None  # None: not checked (rare or retired widgets)
    required: tuple[tuple[str, ...], ...] = ()


_ALL = [
    Widget("trigger", "Trigger",
           ("incomingMessage", "incomingCall", "incomingConversationMessage", "incomingRequest", "incomingParent")),
    Widget("send-message", "Send Message", ("sent", "failed"), (("body",),)),
    Widget("send-and-wait-for-reply", "Send & Wait For Reply",
           ("incomingMessage", "timeout", "deliveryFailure"), (("body",),)),
    Widget("gather-input-on-call", "Gather Input On Call", ("keypress", "speech", "timeout"),
           (("say", "play"),)),
    Widget("split-based-on", "Split Based On...", ("noMatch", "match"), (("input",),)),
    Widget("set-variables", "Set Variables", ("next",)),
    Widget("run-function", "Run Function", ("success", "fail"), (("function", "url"),)),
    Widget("make-http-request", "Make HTTP Request", ("success", "failed"),
           (("method",), ("content_type",), ("url",))),
    Widget("say-play", "Say/Play", ("audioComplete",), (("say", "play", "digits"),)),
    Widget("record-voicemail", "Record Voicemail", ("recordingComplete", "noAudio", "hangup")),
    Widget("connect-call-to", "Connect Call To", ("callCompleted", "hangup"), (("noun",),)),
    Widget("enqueue-call", "Enqueue Call", ("callComplete", "failedToEnqueue", "callFailure"),
           (("workflow_sid", "queue_name"),)),
    Widget("send-to-flex", "Send To Flex", ("callComplete", "failedToEnqueue", "callFailure"),
           (("workflow",), ("channel",))),
    Widget("make-outgoing-call-v2", "Make Outgoing Call", ("answered", "busy", "noAnswer", "failed"),
           (("from",), ("to",))),
    Widget("run-subflow", "Run Subflow", ("completed", "failed"), (("flow", "flow_sid"), ("flow_revision",))),
    Widget("add-twiml-redirect", "TwiML Redirect", ("return", "timeout", "fail"), (("url",),)),
    Widget("capture-payments", "Capture Payments",
           ("success", "maxFailedAttempts", "providerError", "payInterrupted", "hangup", "validationError")),
    Widget("record-call", "Call Recording", ("success", "failed"), (("record_call",),)),
    Widget("fork-stream", "Fork Stream", ("next",), (("stream_action",),)),
    Widget("connect-virtual-agent", "Connect Virtual Agent", ("hangup", "return"), (("connector",),)),
    # In the official type list but rare, retired or undocumented in detail: known, lightly checked.
    Widget("send-to-auto-pilot", "Send To Autopilot (retired)", ("sessionEnded", "failure", "timeout")),
    Widget("make-outgoing-call-v1", "Make Outgoing Call (v1)", None),
    Widget("run-function-v2", "Run Function (v2)", None),
    Widget("connect-virtual-agent-v2", "Connect Virtual Agent (v2)", None),
    Widget("add-member-to-chat-channel", "Add Member To Chat Channel", None),
    Widget("create-chat-channel", "Create Chat Channel", None),
    Widget("create-task", "Create Task", None),
    Widget("understand", "Understand", None),
    Widget("update-sync-object", "Update Sync Object", None),
]

WIDGETS: dict[str, Widget] = {w.type: w for w in _ALL}

CONDITION_TYPES = frozenset({
    "equal_to", "not_equal_to", "matches_any_of", "does_not_match_any_of", "is_blank",
    "is_not_blank", "contains", "does_not_contain", "starts_with", "does_not_start_with",
    "less_than", "greater_than", "is_after_time", "is_before_time", "is_after", "is_before",
    "regex",
})
