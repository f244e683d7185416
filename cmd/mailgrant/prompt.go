package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"
)

// askYesNo asks a y/N question on the terminal and waits for a line. Ctrl-C
// (ctx cancelled by the interrupt) ends it at once with exit status 130,
// instead of waiting for Enter.
func askYesNo(ctx context.Context, s *streams, question string) (bool, error) {
	fmt.Fprint(s.err, question+" [y/N] ")
	line := make(chan string, 1)
	go func() {
		answer, _ := bufio.NewReader(s.in).ReadString('\n')
		line <- answer
	}()
	select {
	case <-ctx.Done():
		fmt.Fprintln(s.err, "\ncancelled")
		return false, silentExit(exitCancelled)
	case answer := <-line:
		a := strings.ToLower(strings.TrimSpace(answer))
		return a == "y" || a == "yes", nil
	}
}
