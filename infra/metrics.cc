#include "infra/metrics.h"

#include <algorithm>
#include <cmath>

#include "infra/strings.h"

namespace cityhub::infra {
namespace {

void AppendNumber(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    StrAppend(&out, v);
  }
}

void AppendLabelValue(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

// {a="x",b="y"} plus an optional extra label (le for histogram buckets).
void AppendLabels(std::string& out, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, std::string_view extra_name = {},
                  std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return;
  out += '{';
  bool first = true;
  for (size_t i = 0; i < names.size(); ++i) {
    if (!first) out += ',';
    first = false;
    StrAppend(&out, names[i], "=\"");
    AppendLabelValue(out, values[i]);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    StrAppend(&out, extra_name, "=\"", extra_value, "\"");
  }
  out += '}';
}

void AppendHeader(std::string& out, std::string_view name, std::string_view help,
                  std::string_view type) {
  StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

template <typename T>
T* MakeChild(const std::vector<double>&) {
  return new T();
}
template <>
Histogram* MakeChild<Histogram>(const std::vector<double>& bounds) {
  return new Histogram(bounds);
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  std::sort(bounds_.begin(), bounds_.end());
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double v) {
  const size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}

std::vector<double> LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> LagBuckets() { return {0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 3600}; }

template <typename T>
T& Family<T>::WithLabels(const std::vector<std::string>& values) {
  std::lock_guard lock(mu_);
  auto it = children_.find(values);
  if (it == children_.end()) {
    std::vector<std::string> key = values;
    key.resize(label_names_.size());  // a wrong arity is a programming error; pad or cut
    it = children_.emplace(std::move(key), std::unique_ptr<T>(MakeChild<T>(bounds_))).first;
  }
  return *it->second;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

Family<Counter>& MetricsRegistry::AddCounter(const std::string& name, const std::string& help,
                                             std::vector<std::string> label_names) {
  std::lock_guard lock(mu_);
  auto& slot = counters_[name];
  if (!slot) slot = std::make_unique<Family<Counter>>(name, help, std::move(label_names));
  return *slot;
}

Family<Gauge>& MetricsRegistry::AddGauge(const std::string& name, const std::string& help,
                                         std::vector<std::string> label_names) {
  std::lock_guard lock(mu_);
  auto& slot = gauges_[name];
  if (!slot) slot = std::make_unique<Family<Gauge>>(name, help, std::move(label_names));
  return *slot;
}

Family<Histogram>& MetricsRegistry::AddHistogram(const std::string& name, const std::string& help,
                                                 std::vector<std::string> label_names,
                                                 std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  auto& slot = histograms_[name];
  if (!slot) {
    slot =
        std::make_unique<Family<Histogram>>(name, help, std::move(label_names), std::move(bounds));
  }
  return *slot;
}

std::string MetricsRegistry::Render() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& entry : counters_) {
    const std::string& name = entry.first;
    const auto& family = entry.second;
    AppendHeader(out, name, family->help(), "counter");
    family->ForEach([&](const std::vector<std::string>& values, const Counter& c) {
      out += name;
      AppendLabels(out, family->label_names(), values);
      out += ' ';
      AppendNumber(out, c.Value());
      out += '\n';
    });
  }
  for (const auto& entry : gauges_) {
    const std::string& name = entry.first;
    const auto& family = entry.second;
    AppendHeader(out, name, family->help(), "gauge");
    family->ForEach([&](const std::vector<std::string>& values, const Gauge& g) {
      out += name;
      AppendLabels(out, family->label_names(), values);
      out += ' ';
      AppendNumber(out, g.Value());
      out += '\n';
    });
  }
  for (const auto& entry : histograms_) {
    const std::string& name = entry.first;
    const auto& family = entry.second;
    AppendHeader(out, name, family->help(), "histogram");
    family->ForEach([&](const std::vector<std::string>& values, const Histogram& h) {
      const std::vector<uint64_t> counts = h.CumulativeCounts();
      for (size_t i = 0; i < counts.size(); ++i) {
        std::string le;
        if (i < h.bounds().size()) {
          AppendNumber(le, h.bounds()[i]);
        } else {
          le = "+Inf";
        }
        StrAppend(&out, name, "_bucket");
        AppendLabels(out, family->label_names(), values, "le", le);
        StrAppend(&out, " ", counts[i], "\n");
      }
      StrAppend(&out, name, "_sum");
      AppendLabels(out, family->label_names(), values);
      out += ' ';
      AppendNumber(out, h.Sum());
      StrAppend(&out, "\n", name, "_count");
      AppendLabels(out, family->label_names(), values);
      StrAppend(&out, " ", h.Count(), "\n");
    });
  }
  return out;
}

}  // namespace cityhub::infra
