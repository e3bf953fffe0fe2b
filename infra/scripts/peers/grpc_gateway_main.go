// grpc-gateway v2 in front of cityhub's services, for infra/scripts/bench-peers: the handlers
// generated from cityhub's HTTP rules (grpc_api_configuration.yaml, made by http_rules.py),
// JSON with the proto field names as cityhub's gateway writes them.
//
//	grpc-gateway-peer -listen 127.0.0.1:PORT -requests ADDR -accounts ADDR -notifications ADDR
package main

import (
	"context"
	"flag"
	"log"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"

	accounts "cityhub.local/peers/gen/cityhub/accounts/v1"
	notifications "cityhub.local/peers/gen/cityhub/notifications/v1"
	requests "cityhub.local/peers/gen/cityhub/requests/v1"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8090", "HTTP address")
	requestsAddr := flag.String("requests", "127.0.0.1:7002", "requests service")
	accountsAddr := flag.String("accounts", "127.0.0.1:7001", "accounts service")
	notificationsAddr := flag.String("notifications", "127.0.0.1:7003", "notifications service")
	flag.Parse()

	ctx := context.Background()
	mux := runtime.NewServeMux(runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.JSONPb{
		MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true},
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: true},
	}))
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if err := requests.RegisterRequestsServiceHandlerFromEndpoint(ctx, mux, *requestsAddr, opts); err != nil {
		log.Fatal(err)
	}
	if err := accounts.RegisterAccountsServiceHandlerFromEndpoint(ctx, mux, *accountsAddr, opts); err != nil {
		log.Fatal(err)
	}
	if err := notifications.RegisterNotificationsServiceHandlerFromEndpoint(ctx, mux, *notificationsAddr, opts); err != nil {
		log.Fatal(err)
	}
	log.Printf("grpc-gateway peer on %s", *listen)
	log.Fatal(http.ListenAndServe(*listen, mux))
}
