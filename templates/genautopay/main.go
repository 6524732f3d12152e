// Command genautopay regenerates the embedded autopay rules templates:
// go generate ./templates.
package main

import (
	"flag"
	"log"

	"github.com/payrun/payrun/templates/internal/build"
)

func main() {
	dir := flag.String("dir", "templates", "directory to write the templates to")
	flag.Parse()
	if err := build.WriteAutopay(*dir); err != nil {
		log.Fatal(err)
	}
}
