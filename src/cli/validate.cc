// `gantry validate DIR`: every problem the file provider would report for DIR (parse and
// validation errors, duplicate objects, unreadable files), one per line as
// "file:line: Kind ns/name: field: message"; exit 1 if there is any, 0 with a summary otherwise.
//
// The translator is also run on the valid objects, and objects it would not accept (a route not
// Accepted by any parent, a Gateway not Accepted/Programmed, unresolved refs) are printed as
// warnings: they are legitimate states (a route may wait for its Gateway), so they do not change
// the exit code.
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "controlplane/providers/files.h"
#include "controlplane/translate/translate.h"

namespace gantry::cli {

namespace {

std::string nowUtc() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string objectName(const api::ObjectStatus& s) {
  return s.namespace_.empty() ? fmt::format("{} {}", s.kind, s.name)
                              : fmt::format("{} {}/{}", s.kind, s.namespace_, s.name);
}

// Conditions that say "this does not work": the positive-polarity types being False.
bool isProblem(const api::Condition& c) {
  return c.status == "False" &&
         (c.type == "Accepted" || c.type == "ResolvedRefs" || c.type == "Programmed");
}

std::vector<std::string> translatorWarnings(const api::ObjectSet& objects) {
  controlplane::TranslateOptions opts;
  opts.now = nowUtc();
  std::vector<std::string> out;
  controlplane::TranslateResult r;
  try {
    r = controlplane::translate(objects, opts);
  } catch (const std::exception& e) {
    out.push_back(fmt::format("translation failed: {}", e.what()));
    return out;
  }
  for (const auto& s : r.statuses) {
    for (const auto& c : s.conditions) {
      if (isProblem(c)) {
        out.push_back(fmt::format("{}: {}={} ({}): {}", objectName(s), c.type, c.status, c.reason,
                                  c.message));
      }
    }
    for (const auto& l : s.listeners) {
      for (const auto& c : l.conditions) {
        if (isProblem(c) || (c.type == "Conflicted" && c.status == "True")) {
          out.push_back(fmt::format("{}: listener {}: {}={} ({}): {}", objectName(s), l.name,
                                    c.type, c.status, c.reason, c.message));
        }
      }
    }
    for (const auto& p : s.parents) {
      const auto& ref = p.parent_ref;
      std::string parent =
          fmt::format("{} {}/{}", ref.kind, ref.namespace_.value_or(s.namespace_), ref.name);
      if (ref.section_name) parent += "/" + *ref.section_name;
      for (const auto& c : p.conditions) {
        if (isProblem(c)) {
          out.push_back(fmt::format("{}: parent {}: {}={} ({}): {}", objectName(s), parent, c.type,
                                    c.status, c.reason, c.message));
        }
      }
    }
  }
  return out;
}

}  // namespace

int validate(const std::string& dir) {
  // Problems are printed once, below; the provider's own log lines would repeat them.
  spdlog::set_level(spdlog::level::err);

  controlplane::providers::FileProviderOptions po;
  po.dir = dir;
  controlplane::providers::FileProvider provider(po);
  if (auto st = provider.loadAll(); !st.isOk()) {
    std::fprintf(stderr, "gantry validate: %s\n", st.message().c_str());
    return 1;
  }
  auto errors = provider.errors();
  for (const auto& e : errors) std::printf("%s\n", e.toString().c_str());

  const auto stats = provider.stats();
  auto objects = provider.objects();
  for (const auto& w : translatorWarnings(*objects)) std::printf("warning: %s\n", w.c_str());

  if (!errors.empty()) {
    std::printf("%zu problem%s in %s (%llu files, %llu valid objects)\n", errors.size(),
                errors.size() == 1 ? "" : "s", dir.c_str(),
                static_cast<unsigned long long>(stats.files),
                static_cast<unsigned long long>(stats.objects));
    return 1;
  }
  std::printf("%s: %llu files, %llu objects, no problems\n", dir.c_str(),
              static_cast<unsigned long long>(stats.files),
              static_cast<unsigned long long>(stats.objects));
  return 0;
}

}  // namespace gantry::cli
