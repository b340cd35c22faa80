// Helpers for the api parser tests.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "api/parse.h"

namespace gantry::api::testing {

inline ParseResult parseText(const std::string& text, const std::string& path = "test.yaml") {
  ParseResult out;
  parseFile(SourceFile{path, text}, out);
  return out;
}

inline std::string errorsToString(const ParseResult& r) {
  std::string s;
  for (const auto& e : r.errors) s += e.toString() + "\n";
  return s;
}

inline size_t objectCount(const ObjectSet& o) {
  return o.gateway_classes.size() + o.gateways.size() + o.listener_sets.size() +
         o.http_routes.size() + o.grpc_routes.size() + o.l4_routes.size() +
         o.reference_grants.size() + o.backend_tls_policies.size() + o.namespaces.size() +
         o.services.size() + o.endpoint_slices.size() + o.secrets.size() + o.config_maps.size();
}

}  // namespace gantry::api::testing
