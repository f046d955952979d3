// Command cpuloop computes without calling the host: it counts the primes below N (argv[1],
// default 2,000,000) with trial division and prints the count. The benchmarks run it to
// measure what wazero's interrupt checks cost a CPU-bound Go guest
// (benchmarks/interrupt_bench_test.go).
package main

import (
	"fmt"
	"os"
	"strconv"
)

func main() {
	n := 2_000_000
	if len(os.Args) > 1 {
		v, err := strconv.Atoi(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		n = v
	}
	count := 0
	for i := 2; i < n; i++ {
		prime := true
		for d := 2; d*d <= i; d++ {
			if i%d == 0 {
				prime = false
				break
			}
		}
		if prime {
			count++
		}
	}
	fmt.Println(count)
}
