"""hotspots.app_support.text: text from data made literal for Streamlit markdown."""

from __future__ import annotations

from hotspots.app_support import md_text


def test_md_text_makes_markdown_literal():
    payloads = ["![x](http://evil.example/x.png)", "<img src=x onerror=alert(1)>", ":red[big] $x^2$ **b** `c`", "a\nb\r\nc"]
    for p in payloads:
        out = md_text(p)
        # Every markdown/HTML special character is escaped; removing the escapes gives the text back.
        i = 0
        plain = []
        while i < len(out):
            if out[i] == "\\":
                assert out[i + 1] in "\\`*_{}[]()#+-.!|<>~$:&=\"'"
                plain.append(out[i + 1])
                i += 2
            else:
                assert out[i] not in "`*_{}[]()#+-.!|<>~$:&=\"'\n\r"
                plain.append(out[i])
                i += 1
        assert "".join(plain) == " ".join(p.splitlines())
    assert md_text(None) == ""
