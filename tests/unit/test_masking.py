"""Secret values are replaced wherever they appear in text a plan or an error carries."""

from twideploy.plan.model import Action, Change, WidgetChange
from twideploy.plan.planner import mask_secrets, mask_text


def test_mask_text_replaces_every_secret_longest_first():
    text = "POST failed: Value=abc123XYZ and token abc123 (abc123XYZ)"
    assert mask_text(text, ["abc123", "abc123XYZ"]) == "POST failed: Value=*** and token *** (***)"
    assert mask_text(text, []) == text


def test_mask_secrets_reaches_before_after_and_widget_values():
    change = Change("flow", "flow.x", Action.UPDATE, {"url": "https://x/?t=s3cr3t"}, {"url": "https://x/?t=n3w"},
                    [WidgetChange("w", "property", "url", "https://x/?t=s3cr3t", "https://x/?t=n3w")])
    [masked] = mask_secrets([change], ["s3cr3t", "n3w"])
    assert "s3cr3t" not in repr(masked) and "n3w" not in repr(masked)
    assert masked.widgets[0].before == "https://x/?t=***"
