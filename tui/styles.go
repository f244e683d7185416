package tui

import (
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/textinput"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// styles is built once and shared by every screen. Colours are the
// terminal's own ANSI colours, so they follow its light or dark theme; every
// state also has a symbol or a word, never colour alone. The program
// downsamples or drops colours for the terminal's profile (NO_COLOR gives
// plain text).
type styles struct {
	banner   lipgloss.Style
	title    lipgloss.Style
	label    lipgloss.Style
	subtle   lipgloss.Style
	selected lipgloss.Style
	dim      lipgloss.Style
	ok       lipgloss.Style
	warn     lipgloss.Style
	bad      lipgloss.Style
	code     lipgloss.Style
	url      lipgloss.Style
}

func newStyles() styles {
	return styles{
		banner:   lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Black).Background(lipgloss.Yellow),
		title:    lipgloss.NewStyle().Bold(true),
		label:    lipgloss.NewStyle().Bold(true),
		subtle:   lipgloss.NewStyle().Faint(true),
		selected: lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Cyan),
		dim:      lipgloss.NewStyle().Faint(true),
		ok:       lipgloss.NewStyle().Foreground(lipgloss.Green),
		warn:     lipgloss.NewStyle().Foreground(lipgloss.Yellow),
		bad:      lipgloss.NewStyle().Foreground(lipgloss.Red),
		code:     lipgloss.NewStyle().Bold(true),
		url:      lipgloss.NewStyle().Foreground(lipgloss.Blue),
	}
}

// newHelp builds the help bar.
func newHelp(st styles) help.Model {
	h := help.New()
	h.Styles = help.Styles{
		Ellipsis:       st.subtle,
		ShortKey:       lipgloss.NewStyle().Bold(true),
		ShortDesc:      st.subtle,
		ShortSeparator: st.subtle,
		FullKey:        lipgloss.NewStyle().Bold(true),
		FullDesc:       st.subtle,
		FullSeparator:  st.subtle,
	}
	return h
}

// inputStyles are the text field styles: no fixed greys, a steady cursor.
func inputStyles() textinput.Styles {
	s := textinput.DefaultDarkStyles()
	plain := lipgloss.NewStyle()
	faint := lipgloss.NewStyle().Faint(true)
	s.Focused = textinput.StyleState{Text: plain, Placeholder: faint, Suggestion: faint, Prompt: lipgloss.NewStyle().Bold(true)}
	s.Blurred = textinput.StyleState{Text: plain, Placeholder: faint, Suggestion: faint, Prompt: faint}
	s.Cursor.Color = nil
	s.Cursor.Blink = false
	return s
}

// wrap breaks plain text into lines of at most width cells at spaces (not
// at hyphens, so addresses and domains stay whole), and breaks words longer
// than a line anywhere. Existing line breaks are kept.
func wrap(s string, width int) string {
	if width <= 0 {
		return s
	}
	var out []string
	for _, para := range strings.Split(s, "\n") {
		line := ""
		for _, word := range strings.Fields(para) {
			for ansi.StringWidth(word) > width {
				if line != "" {
					out = append(out, line)
					line = ""
				}
				head := ansi.Truncate(word, width, "")
				out = append(out, head)
				word = word[len(head):]
			}
			switch {
			case line == "":
				line = word
			case ansi.StringWidth(line)+1+ansi.StringWidth(word) <= width:
				line += " " + word
			default:
				out = append(out, line)
				line = word
			}
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// hardWrap breaks text every width cells, for URLs that must stay whole
// words when copied.
func hardWrap(s string, width int) string {
	if width <= 0 {
		return s
	}
	return ansi.Hardwrap(s, width, true)
}

// truncate shortens s to width cells with an ellipsis.
func truncate(s string, width int) string {
	if width <= 0 {
		return s
	}
	return ansi.Truncate(s, width, "…")
}

// indent prefixes every line of s.
func indent(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}

// pad makes s exactly width cells wide (truncating or adding spaces).
func pad(s string, width int) string {
	s = truncate(s, width)
	if w := ansi.StringWidth(s); w < width {
		s += strings.Repeat(" ", width-w)
	}
	return s
}

// paint styles each line of s on its own, so a multi-line text is not padded
// into a block.
func paint(st lipgloss.Style, s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = st.Render(l)
	}
	return strings.Join(lines, "\n")
}

// wrapKeepIndent breaks lines longer than width at spaces, continuing each
// under the line's own indentation plus two, so aligned text (a checklist,
// a script) stays readable and its values whole.
func wrapKeepIndent(s string, width int) string {
	if width <= 0 {
		return s
	}
	var out []string
	for _, line := range strings.Split(s, "\n") {
		lead := len(line) - len(strings.TrimLeft(line, " "))
		cont := strings.Repeat(" ", min(lead+2, width/2))
		for ansi.StringWidth(line) > width {
			cut := strings.LastIndex(ansi.Truncate(line, width, ""), " ")
			if cut <= lead || cut <= len(cont) {
				break // one long word: leave it for the terminal
			}
			out = append(out, strings.TrimRight(line[:cut], " "))
			line = cont + strings.TrimLeft(line[cut:], " ")
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}
