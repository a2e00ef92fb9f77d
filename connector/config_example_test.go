package connector_test

import (
	"fmt"
	"strings"

	"github.com/bgp-connector/bgp-connector/connector"
)

// Configuration comes from a .properties file, then BGP_CONNECTOR_*
// environment variables, then --set pairs; every problem is reported with
// the key and where it was set.
func ExampleNewConfig() {
	file, _ := connector.ParseProperties(strings.NewReader(`
name=edge
bootstrap.servers=kafka-1:9092,kafka-2:9092
topics=routeviews.amsix.bmp_raw
errors.tolerance=all
errors.deadletterqueue.topic.name=bgp.dlq
`), "connector.properties")
	env := connector.EnvSettings([]string{"BGP_CONNECTOR_TASKS_MAX=4"})
	set, _ := connector.SetSettings([]string{"key.field=peer"})
	cfg, err := connector.NewConfig(file, env, set)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.GroupID, cfg.BootstrapServers, cfg.TasksMax, cfg.KeyField, cfg.TopicFor("announcements"))

	_, err = connector.NewConfig([]connector.Setting{{Key: "errors.tolerance", Value: "some", Origin: "connector.properties:4"}})
	fmt.Println(err)
	// Output:
	// connect-edge [kafka-1:9092 kafka-2:9092] 4 peer bgp.elems.announcements
	// configuration: connector.properties:4: errors.tolerance: "some" is not allowed; use one of none, all
}
