package cli

import "testing"

func TestDarkFromOSC11(t *testing.T) {
	for _, tc := range []struct {
		answer   string
		dark, ok bool
	}{
		{"\x1b]11;rgb:0000/0000/0000\x1b\\", true, true},
		{"\x1b]11;rgb:ffff/ffff/ffff\a", false, true},
		{"\x1b]11;rgb:1e1e/1e1e/2e2e\x1b\\", true, true},
		{"\x1b]11;rgb:fd/f6/e3\a", false, true}, // two digits a component
		{"\x1b]11;rgb:ffff/ffff\a", false, false},
		{"", false, false},
	} {
		dark, ok := darkFromOSC11(tc.answer)
		if dark != tc.dark || ok != tc.ok {
			t.Errorf("%q: dark %v ok %v, want %v %v", tc.answer, dark, ok, tc.dark, tc.ok)
		}
	}
}

func TestDarkFromCOLORFGBG(t *testing.T) {
	for v, want := range map[string][2]bool{"15;0": {true, true}, "0;15": {false, true}, "0;default;7": {false, true}, "": {false, false}, "x": {false, false}} {
		dark, ok := darkFromCOLORFGBG(v)
		if dark != want[0] || ok != want[1] {
			t.Errorf("COLORFGBG=%q: dark %v ok %v, want %v", v, dark, ok, want)
		}
	}
}

func TestDSRAnswered(t *testing.T) {
	for b, want := range map[string]bool{"\x1b[24;80R": true, "\x1b]11;rgb:0/0/0\a\x1b[1;1R": true, "\x1b]11;rgb:0/0/0\a": false, "\x1b[24;8": false} {
		if got := dsrAnswered([]byte(b)); got != want {
			t.Errorf("%q: %v, want %v", b, got, want)
		}
	}
}
