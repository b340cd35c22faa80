// Internal to src/api: per-kind decoders. Each reads one object's body (everything but metadata),
// validates it as the API server would, applies the CRD defaults and fills `out`. Errors go to the
// Decoder; the caller drops the object when any was recorded.
#pragma once

#include <string>

#include "api/decoder.h"
#include "api/objects.h"

namespace gantry::api::detail {

// Gateway API kinds (gateway.networking.k8s.io). `version` is the apiVersion's version part
// (v1, v1beta1, v1alpha2, v1alpha3): a few limits differ between served versions.
void decodeGatewayClass(Decoder& d, const V& root, const std::string& version, GatewayClass& out);
void decodeGateway(Decoder& d, const V& root, const std::string& version, Gateway& out);
void decodeListenerSet(Decoder& d, const V& root, const std::string& version, ListenerSet& out);
void decodeHttpRoute(Decoder& d, const V& root, const std::string& version, HttpRoute& out);
void decodeGrpcRoute(Decoder& d, const V& root, const std::string& version, GrpcRoute& out);
void decodeL4Route(Decoder& d, const V& root, const std::string& version, L4Route& out);
void decodeReferenceGrant(Decoder& d, const V& root, const std::string& version,
                          ReferenceGrant& out);
void decodeBackendTlsPolicy(Decoder& d, const V& root, const std::string& version,
                            BackendTlsPolicy& out);

// Core kinds (v1, discovery.k8s.io/v1), validated like the API server's built-in validation
// (pkg/apis/core/validation) for the fields gantry uses; other fields are ignored.
void decodeNamespace(Decoder& d, const V& root, Namespace& out);
void decodeService(Decoder& d, const V& root, Service& out);
void decodeEndpointSlice(Decoder& d, const V& root, EndpointSlice& out);
void decodeSecret(Decoder& d, const V& root, Secret& out);
void decodeConfigMap(Decoder& d, const V& root, ConfigMap& out);

// Shared helpers.
LabelSelector decodeLabelSelector(Decoder& d, const V& v);
bool isDnsLabel(const std::string& s);      // RFC 1123 label, at most 63
bool isDnsSubdomain(const std::string& s);  // RFC 1123 subdomain, at most 253
bool isDns1035Label(const std::string& s);  // RFC 1035 label (Service names)
bool isIpv4(const std::string& s);
bool isIpv6(const std::string& s);

}  // namespace gantry::api::detail
