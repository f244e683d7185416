// Command keyringget is the yardstick of `make bench`: the smallest Go
// program that reads one item from the OS keyring with go-keyring, as
// `mailgrant token PROFILE` does when the access token is cached. The
// benchmark BenchmarkTokenProcess compares the two as whole processes.
//
//	keyringget SERVICE USER
package main

import (
	"fmt"
	"os"

	"github.com/zalando/go-keyring"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: keyringget SERVICE USER")
		os.Exit(2)
	}
	v, err := keyring.Get(os.Args[1], os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "keyringget:", err)
		os.Exit(1)
	}
	fmt.Println(len(v))
}
