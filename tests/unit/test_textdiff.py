"""Word-level and line-level diffs of changed strings (twideploy.render.textdiff)."""

from __future__ import annotations

import io
import re

from rich.console import Console

from twideploy.addresses import Address
from twideploy.plan.flowdiff import describe
from twideploy.plan.model import Action, Change, Plan, WidgetChange
from twideploy.render.plan_text import render_text
from twideploy.render.textdiff import string_diff

WORDS = " ".join(f"w{i}" for i in range(60))


def test_the_changed_words_are_kept_with_context_and_the_rest_elided():
    diff = string_diff("menu.say", WORDS, WORDS.replace("w30", "THIRTY"))
    assert diff is not None
    assert diff.plain() == ['menu.say: "... w24 w25 w26 w27 w28 w29 [-w30-]{+THIRTY+} w31 w32 w33 w34 w35 w36 ..."']


def test_changes_at_both_ends_are_never_elided_and_near_changes_share_their_context():
    after = WORDS.replace("w0 ", "zero ").replace("w59", "last").replace("w3 ", "three ")
    [line] = string_diff("menu.say", WORDS, after).plain()
    assert line.startswith('menu.say: "[-w0-]{+zero+} w1 w2 [-w3-]{+three+} w4 ')
    assert line.endswith(' w58 [-w59-]{+last+}"') and line.count("...") == 1


def test_a_rewritten_phrase_is_one_change_not_word_against_word():
    before, after = WORDS + " bye from the console", WORDS + " thank you for calling"
    assert string_diff("menu.say", before, after).words[-2:] == [("-", "bye from the console"),
                                                                 ("+", "thank you for calling")]


def test_strings_shown_whole_and_other_values_keep_the_before_after_form():
    assert string_diff("menu.say", "Press 1", "Press 2") is None
    assert string_diff("menu.say", "Bye, from the console", "Thank you for calling Acme. Goodbye.") is None
    assert string_diff("menu.timeout", 5, 10) is None
    assert describe(WidgetChange("menu", "property", "say", "Press 1", "Press 2")) == 'menu.say: "Press 1" -> "Press 2"'


def test_a_multi_line_string_is_a_unified_diff():
    before, after = "Hello {{name}},\nyour order shipped\nbye", "Hello {{name}},\nyour order is on its way\nbye"
    diff = string_diff("notify.body", before, after)
    assert diff is not None
    assert diff.plain() == ["notify.body:", "  @@ -1,3 +1,3 @@", "   Hello {{name}},", "  -your order shipped",
                            "  +your order is on its way", "   bye"]
    assert "-      your order shipped" in diff.markdown() and "+      your order is on its way" in diff.markdown()


def test_a_terminal_shows_colour_instead_of_markers_and_escapes_the_text():
    before, after = WORDS + " [bold]x", WORDS + " [bold]y"
    plan = Plan("local", "AC1", [Change("flow", Address.parse("flow.ivr-main", "flow"), Action.UPDATE,
                                        widgets=[WidgetChange("menu", "property", "say", before, after)])], {})
    out = io.StringIO()
    render_text(plan, Console(file=out, force_terminal=True, color_system="standard", highlight=False))
    assert "\x1b[9;31m" in out.getvalue() and "\x1b[32m" in out.getvalue()  # struck-through red, green
    assert 'w59 [bold]x[bold]y"' in re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue())
    plain = io.StringIO()
    render_text(plan, Console(file=plain, width=200))
    assert "w59 [-[bold]x-]{+[bold]y+}" in plain.getvalue()
