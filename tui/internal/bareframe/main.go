// Command bareframe is the yardstick of the wizard's first frame in `make
// bench`: the smallest Bubble Tea program, which draws the chooser's question
// and waits for q. BenchmarkWizardFirstFrame (cmd/mailgrant) starts it and
// the wizard on a pseudo-terminal and compares how soon each first frame
// shows.
package main

import (
	"fmt"
	"os"

	tea "charm.land/bubbletea/v2"
)

type model struct{}

func (model) Init() tea.Cmd { return nil }

func (m model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok && (k.String() == "q" || k.String() == "ctrl+c") {
		return m, tea.Quit
	}
	return m, nil
}

func (model) View() tea.View { return tea.NewView("What should the program be allowed to do?\n") }

func main() {
	if _, err := tea.NewProgram(model{}).Run(); err != nil {
		fmt.Fprintln(os.Stderr, "bareframe:", err)
		os.Exit(1)
	}
}
