// Package discover finds the ZooKeeper ensemble a program should use, the
// way zkcoord's command line and examples do: $ZK_SERVERS
// ("host:port,host:port"), else the local ensemble that `zkcoord ensemble
// up` (`make ensemble-up`) recorded in .ensemble/ensemble.json, looked for
// in the working directory and its parents, or in $ZKCOORD_ENSEMBLE_DIR.
//
// It is for programs run during development and in examples: a service in
// production should be told its servers by its own configuration.
package discover
