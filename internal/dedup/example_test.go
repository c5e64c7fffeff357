package dedup_test

import (
	"context"
	"fmt"
	"log"

	"github.com/mailsift/mailsift/internal/dedup"
)

func ExampleSet() {
	s := dedup.NewSet(2, dedup.LRU)
	fmt.Println(s.SeenOrAdd("a"), s.SeenOrAdd("b"), s.SeenOrAdd("a"))
	s.SeenOrAdd("c") // full: b, the least recently seen, goes
	fmt.Println(s.Contains("a"), s.Contains("b"), s.Len())
	// Output:
	// false false true
	// true false 2
}

func ExampleOpen() {
	c := dedup.DefaultConfig()
	c.Dir = "" // in memory only
	f, err := dedup.Open(c)
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		if err := f.Close(); err != nil {
			log.Print(err)
		}
	}()
	var store dedup.Store = f
	ctx := context.Background()
	for _, ip := range []string{"192.0.2.7", "::ffff:192.0.2.7"} {
		seen, err := store.SeenOrAdd(ctx, dedup.IP, ip)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(ip, seen)
	}
	// Output:
	// 192.0.2.7 false
	// ::ffff:192.0.2.7 true
}
