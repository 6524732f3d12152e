// Command gen regenerates the embedded templates: go generate ./templates.
package main

import (
	"flag"
	"log"

	"github.com/payrun/payrun/templates/internal/build"
)

func main() {
	dir := flag.String("dir", "templates", "directory to write the templates to")
	flag.Parse()
	if err := build.Write(*dir); err != nil {
		log.Fatal(err)
	}
}
