#include "dataplane/filters/rule_filters.h"

#include <algorithm>

namespace gantry::dataplane::filters {
namespace {

bool handledHere(const ir::Filter& f) { return f.type != ir::FilterType::kRequestMirror; }

bool anyHandled(const std::vector<ir::Filter>& fs) {
  return std::any_of(fs.begin(), fs.end(), handledHere);
}

// The filters of one level (rule or backendRef), by type. The API allows each of these types
// at most once per level; should a snapshot repeat one, the first counts.
struct Level {
  const ir::HeaderModifier* request = nullptr;
  const ir::HeaderModifier* response = nullptr;
  const ir::UrlRewrite* rewrite = nullptr;
  const ir::RequestRedirect* redirect = nullptr;
  const ir::Cors* cors = nullptr;

  explicit Level(const std::vector<ir::Filter>& fs) {
    for (const auto& f : fs) {
      switch (f.type) {
        case ir::FilterType::kRequestHeaderModifier:
          if (!request) request = &f.header_modifier;
          break;
        case ir::FilterType::kResponseHeaderModifier:
          if (!response) response = &f.header_modifier;
          break;
        case ir::FilterType::kUrlRewrite:
          if (!rewrite) rewrite = &f.rewrite;
          break;
        case ir::FilterType::kRequestRedirect:
          if (!redirect) redirect = &f.redirect;
          break;
        case ir::FilterType::kCors:
          if (!cors) cors = &f.cors;
          break;
        case ir::FilterType::kRequestMirror:
        case ir::FilterType::kExternalAuth:  // filters/ext_authz.h, checked before these
          break;
      }
    }
  }
};

}  // namespace

std::unique_ptr<const RuleFilters> compileRuleFilters(const ir::Rule& rule,
                                                      const ir::HttpListener& listener,
                                                      uint32_t rule_index, ir::Protocol protocol,
                                                      uint16_t port,
                                                      std::vector<std::string>* warnings) {
  bool backend_level = false;
  for (const auto& b : rule.backends) backend_level = backend_level || anyHandled(b.filters);
  if (!anyHandled(rule.filters) && !backend_level) return nullptr;

  auto out = std::make_unique<RuleFilters>();
  for (const auto& e : listener.entries) {
    if (e.rule != rule_index || e.match.path.type != ir::PathMatchType::kPathPrefix) continue;
    if (std::find(out->prefixes.begin(), out->prefixes.end(), e.match.path.value) ==
        out->prefixes.end()) {
      out->prefixes.push_back(e.match.path.value);
    }
  }
  const std::string_view scheme = protocol == ir::Protocol::kHttps ? "https" : "http";
  const Level rl(rule.filters);
  if (rl.cors) out->cors = Cors::compile(*rl.cors, warnings);
  if (rl.redirect) out->redirect = Redirect::compile(*rl.redirect, scheme, port, out->prefixes);

  auto compose = [&](const Level* bl) {
    BackendFilters bf;
    bf.request = HeaderModifier::compile({rl.request, bl ? bl->request : nullptr},
                                         Direction::kRequest, warnings);
    bf.response = HeaderModifier::compile({rl.response, bl ? bl->response : nullptr},
                                          Direction::kResponse, warnings);
    if (bf.request.setsHost()) {
      bf.rewrite_host = true;
      bf.host = std::string(bf.request.host());
    }
    // URLRewrite runs after the header modifiers in spirit: it names the Host explicitly.
    for (const ir::UrlRewrite* rw : {rl.rewrite, bl ? bl->rewrite : nullptr}) {
      if (rw == nullptr) continue;
      if (!rw->hostname.empty()) {
        bf.rewrite_host = true;
        bf.host = rw->hostname;
      }
      if (rw->path.type != ir::PathModifierType::kNone) bf.path = rw->path;
    }
    if (bl && bl->redirect)
      bf.redirect = Redirect::compile(*bl->redirect, scheme, port, out->prefixes);
    if (bl && bl->cors) bf.cors = Cors::compile(*bl->cors, warnings);
    const bool active = !bf.request.empty() || !bf.response.empty() || bf.rewrite_host ||
                        bf.rewritesPath() || bf.redirect || bf.cors;
    out->backends.push_back(std::move(bf));
    out->active.push_back(active);
  };
  if (!backend_level) {
    compose(nullptr);
  } else {
    for (const auto& b : rule.backends) {
      const Level bl(b.filters);
      compose(&bl);
    }
  }
  return out;
}

}  // namespace gantry::dataplane::filters
