package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/icconsole/ic/internal/termsafe"
)

type fieldKind int

const (
	textField fieldKind = iota
	choiceField
	yesNoField
)

// field is one question of a form.
type field struct {
	label    string
	kind     fieldKind
	input    textinput.Model
	choices  []string
	choice   int
	optional bool
	answer   string
	// validate checks a text answer as it is given; an error keeps the
	// form on this field with what was typed.
	validate func(string) error
	// decides, on a yes/no field, skips the questions after a yes (the
	// triage's first yes decides the severity).
	decides bool
}

// formKind says what a submitted form does.
type formKind int

const (
	formDeclare formKind = iota
	formSeverity
	formState
	formRole
	formUpdate
	formEvidence
	formAction
	formSkip
	formOpen
	formFail
	formFailDeclare
	formRestart
	formPostmortem
	formDeviation
	formCorrect
	formActionDone
	formStartRun
	formSyncSource
	formApprove
	// formPreflight has no question: it lists what closing still needs.
	formPreflight
)

// form is a short sequence of questions answered one at a time: the one
// being asked is always the only thing to do. Answers and what was typed
// stay in the form until it is submitted, so a refused answer is fixed in
// place, never typed again.
type form struct {
	kind   formKind
	title  string
	fields []field
	at     int
	err    string
	// onEnter runs when a field becomes current (the declare form uses it
	// to pre-select the severity its triage answers suggest).
	onEnter func(f *form)
	// data carries context for the submit (e.g. the step being skipped).
	data any
	// lines is a form's text when it asks nothing (the close preflight).
	lines []string
	// keys are the keys a question-less form answers to, with their help.
	keys []key.Binding
}

func newTextField(st *Styles, label, placeholder string, optional bool) field {
	in := textinput.New()
	in.PromptStyle, in.TextStyle, in.PlaceholderStyle = st.Plain, st.Plain, st.Muted
	in.Placeholder = placeholder
	in.Prompt = "> "
	in.CharLimit = 64 << 10
	in.Cursor.SetMode(cursor.CursorStatic)
	return field{label: label, kind: textField, input: in, optional: optional}
}

func newChoiceField(label string, choices []string, selected int) field {
	return field{label: label, kind: choiceField, choices: choices, choice: selected}
}

func newYesNoField(label string) field { return field{label: label, kind: yesNoField} }

func (f *form) current() *field {
	if len(f.fields) == 0 {
		return nil
	}
	return &f.fields[f.at]
}

// focus gives the current text field the cursor.
func (f *form) focus() tea.Cmd {
	for i := range f.fields {
		f.fields[i].input.Blur()
	}
	if f.onEnter != nil {
		f.onEnter(f)
	}
	if c := f.current(); c != nil && c.kind == textField {
		return c.input.Focus()
	}
	return nil
}

// dirty reports whether anything has been typed or answered.
func (f *form) dirty() bool {
	for i, fl := range f.fields {
		if i < f.at || strings.TrimSpace(fl.input.Value()) != "" {
			return true
		}
	}
	return false
}

// reopen puts the form back on its last field with err shown: what was
// typed in every field is still there.
func (f *form) reopen(err string) tea.Cmd {
	f.at = max(0, len(f.fields)-1)
	f.err = err
	return f.focus()
}

// update handles a key; done is true when the last field was answered.
func (f *form) update(msg tea.KeyMsg, keys *KeyMap) (done bool, cmd tea.Cmd) {
	c := f.current()
	if c == nil {
		return key.Matches(msg, keys.Submit), nil
	}
	advance := func() (bool, tea.Cmd) {
		f.err = ""
		if f.at == len(f.fields)-1 {
			return true, nil
		}
		f.at++
		return false, f.focus()
	}
	switch c.kind {
	case yesNoField:
		switch {
		case key.Matches(msg, keys.Yes):
			c.answer = "yes"
			if c.decides {
				// The first yes decides: the next questions are not asked.
				for f.at < len(f.fields)-2 && f.fields[f.at+1].kind == yesNoField {
					f.at++
					f.fields[f.at].answer = ""
				}
			}
			return advance()
		case key.Matches(msg, keys.No):
			c.answer = "no"
			return advance()
		}
		return false, nil
	case choiceField:
		switch {
		case key.Matches(msg, keys.ChoicePrev), key.Matches(msg, keys.Up):
			c.choice = (c.choice + len(c.choices) - 1) % len(c.choices)
		case key.Matches(msg, keys.ChoiceNext), key.Matches(msg, keys.Down):
			c.choice = (c.choice + 1) % len(c.choices)
		case key.Matches(msg, keys.Submit):
			if len(c.choices) == 0 {
				return false, nil
			}
			c.answer = c.choices[c.choice]
			return advance()
		}
		return false, nil
	}
	if key.Matches(msg, keys.Submit) {
		v := strings.TrimSpace(c.input.Value())
		if v == "" && !c.optional {
			f.err = c.label + " is required"
			return false, nil
		}
		if c.validate != nil && v != "" {
			if err := c.validate(v); err != nil {
				f.err = err.Error()
				return false, nil
			}
		}
		c.answer = v
		return advance()
	}
	var ic tea.Cmd
	c.input, ic = c.input.Update(msg)
	return false, ic
}

// answers returns every field's answer in order.
func (f *form) answers() []string {
	out := make([]string, len(f.fields))
	for i, fl := range f.fields {
		out[i] = fl.answer
	}
	return out
}

// help is the keys that work on the current field: a yes/no question
// takes y or n (enter does nothing there).
func (f *form) help(k *KeyMap) []key.Binding {
	c := f.current()
	switch {
	case c == nil:
		return append(append([]key.Binding(nil), f.keys...), k.Back)
	case c.kind == yesNoField:
		return []key.Binding{k.Yes, k.No, k.Cancel}
	case c.kind == choiceField:
		return []key.Binding{k.ChoicePrev, k.ChoiceNext, k.Submit, k.Cancel}
	}
	return []key.Binding{k.Submit, k.Cancel}
}

func (f *form) view(s *Styles, width int) string {
	var b strings.Builder
	b.WriteString(s.Title.Render(truncate(termsafe.EscapeLine(f.title), width)))
	b.WriteString("\n")
	if len(f.fields) == 0 {
		for _, l := range f.lines {
			b.WriteString(wrap(l, width))
			b.WriteString("\n")
		}
		return strings.TrimRight(b.String(), "\n")
	}
	for i := 0; i < f.at; i++ {
		fl := f.fields[i]
		if fl.answer == "" && fl.kind == yesNoField {
			continue // not asked: an earlier yes decided
		}
		b.WriteString(s.Muted.Render(truncate(termsafe.EscapeLine(fl.label+": "+fl.answer), width)))
		b.WriteString("\n")
	}
	c := f.fields[f.at]
	b.WriteString(wrap(termsafe.EscapeLine(c.label), width))
	b.WriteString("\n")
	switch c.kind {
	case yesNoField:
		b.WriteString("  [y] yes   [n] no")
		b.WriteString("\n" + s.Muted.Render("y or n answers · esc cancels"))
	case choiceField:
		var parts []string
		for i, ch := range c.choices {
			if i == c.choice {
				parts = append(parts, s.Selected.Render("["+ch+"]"))
			} else {
				parts = append(parts, " "+ch+" ")
			}
		}
		b.WriteString(wrap(strings.Join(parts, " "), width))
		b.WriteString("\n" + s.Muted.Render("←/→ choose · enter confirm · esc cancel"))
	default:
		in := c.input
		in.Width = max(10, width-4)
		b.WriteString(in.View())
		b.WriteString("\n" + s.Muted.Render("enter next · esc cancel"))
	}
	if f.err != "" {
		b.WriteString("\n" + s.Error.Render(wrap(termsafe.EscapeLine(f.err), width)))
	}
	return b.String()
}

// wrap breaks s at spaces so no line is wider than width.
func wrap(s string, width int) string {
	if width <= 0 || len(s) <= width {
		return s
	}
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		switch {
		case line == "":
			line = w
		case len(line)+1+len(w) <= width:
			line += " " + w
		default:
			lines = append(lines, line)
			line = w
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}
