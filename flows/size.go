package flows

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// MaxTenantMessageSize is the largest maximum message size an Exchange
// Online admin can set (reference §9a).
const MaxTenantMessageSize = 150 << 20

// ParseSize reads a size such as "50MB", "35 MB", "1.5M", "512KB", "512K",
// "200B" or a plain byte count "52428800". Units are binary, as Exchange
// states its limits (35 MB = 35 × 1024 × 1024 bytes); KiB, MiB and GiB are
// accepted as the same, and letters may be in any case. The size must be a
// whole positive number of bytes. Its errors are *InputError with Field
// "size", which callers replace with their flag's name.
func ParseSize(s string) (int64, error) {
	bad := func(problem string) error {
		return &InputError{Field: "size", Problem: fmt.Sprintf("%q %s", s, problem), Hint: "give a size such as 50MB, 35M, 512KB or a byte count such as 52428800"}
	}
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, bad("is empty")
	}
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToUpper(strings.TrimSpace(t[i:]))
	if num == "" {
		return 0, bad("does not start with a number")
	}
	var mult int64
	switch unit {
	case "", "B":
		mult = 1
	case "K", "KB", "KIB":
		mult = 1 << 10
	case "M", "MB", "MIB":
		mult = 1 << 20
	case "G", "GB", "GIB":
		mult = 1 << 30
	default:
		return 0, bad("has an unknown unit (use B, KB, MB or GB)")
	}
	if strings.Count(num, ".") > 1 || strings.HasPrefix(num, ".") || strings.HasSuffix(num, ".") {
		return 0, bad("is not a number")
	}
	var n int64
	if !strings.Contains(num, ".") {
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil || v > math.MaxInt64/mult {
			return 0, bad("is too large")
		}
		n = v * mult
	} else {
		f, err := strconv.ParseFloat(num, 64)
		if err != nil || f*float64(mult) >= math.MaxInt64/2 {
			return 0, bad("is too large")
		}
		v := f * float64(mult)
		if v != math.Trunc(v) {
			return 0, bad("is not a whole number of bytes")
		}
		n = int64(v)
	}
	if n <= 0 {
		return 0, bad("is not a positive size")
	}
	return n, nil
}
