package keep_test

import (
	"context"
	"fmt"
	"io/fs"
	"log"

	"github.com/arvfile/arvfile"
	"github.com/arvfile/arvfile/keep"
)

// A service list in the shape of Arvados' keep_services/accessible answer.
func ExampleParseServiceList() {
	services, err := keep.ParseServiceList([]byte(`{"items":[
		{"uuid":"zzzzz-bi6l4-000000000000001","service_host":"keep0.example","service_port":25107,"service_ssl_flag":false,"service_type":"disk","read_only":false},
		{"uuid":"zzzzz-bi6l4-000000000000002","service_host":"keep.example","service_port":443,"service_ssl_flag":true,"service_type":"proxy","read_only":false}]}`))
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range services {
		fmt.Println(s.UUID, s.URL, s.Type)
	}
	// Output:
	// zzzzz-bi6l4-000000000000001 http://keep0.example:25107 disk
	// zzzzz-bi6l4-000000000000002 https://keep.example:443 proxy
}

// An engine that stores its blocks in the Keep services named by
// ARVADOS_KEEP_SERVICES, with the token in ARVADOS_API_TOKEN. The manifest
// text names signed locators, which only this token can read back.
func ExampleNewClientFromEnv() {
	client, err := keep.NewClientFromEnv(keep.WithReplicas(2))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	e, err := arvfile.New(arvfile.WithStore(client))
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()

	c := e.NewCollection()
	f, err := c.Create("hello.txt")
	if err != nil {
		log.Fatal(err)
	}
	f.Write([]byte("hello\n"))
	f.Close()
	text, err := c.ManifestText(context.Background(), arvfile.ManifestOptions{})
	if err != nil {
		log.Fatal(err)
	}

	again, err := e.LoadCollection(text, arvfile.ReadOnly())
	if err != nil {
		log.Fatal(err)
	}
	data, err := fs.ReadFile(again.FS(), "hello.txt")
	fmt.Printf("%s%q %v\n", text, data, err)
}
