package render

import (
	"strings"
	"testing"
)

// A list item written over several lines is wrapped once, at the width;
// a link to another procedure reads as its id.
func TestProceduresReflowedOnceAtTheWidth(t *testing.T) {
	src := "## Immediate actions\n" +
		"2. Assess severity with the triage questions: is a customer harmed right now,\n" +
		"   is money or identity at risk, are downstream systems deciding on our bad\n" +
		"   output? Any yes is SEV-1.\n\n" +
		"Follow [O-900](O-900.md) and [the wiki](https://wiki.example/x).\n\n" +
		"```sh\ndf -h\nfree -m\n```\n"
	out, err := Markdown([]byte(src), 60, PlainTheme)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) == "is money or identity at risk, are downstream systems deciding on our bad" {
			t.Errorf("line %d keeps the source's break: %q", i, l)
		}
	}
	if !strings.Contains(out, "right now, is money or identity at risk,") {
		t.Errorf("the list item is not reflowed:\n%s", out)
	}
	if strings.Contains(out, "O-900.md") || !strings.Contains(out, "Follow O-900 and") {
		t.Errorf("a link to a procedure is not its id alone:\n%s", out)
	}
	if !strings.Contains(out, "https://wiki.example/x") {
		t.Errorf("a web link lost its address:\n%s", out)
	}
	if !strings.Contains(out, "df -h\n") || !strings.Contains(out, "free -m") {
		t.Errorf("a code block was reflowed:\n%s", out)
	}
}

// A break before inline code is joined too.
func TestReflowBeforeInlineCode(t *testing.T) {
	out, err := Markdown([]byte("7. Observe the basics: relay status,\n   `df -h`, `free -m`.\n"), 80, PlainTheme)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "relay status, df -h") {
		t.Errorf("the break before inline code is kept:\n%s", out)
	}
}
