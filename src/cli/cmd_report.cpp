#include <fstream>
#include <iostream>

#include "cellot/cli/command_line.hpp"
#include "cellot/core/error.hpp"
#include "cellot/io/store.hpp"
#include "cellot/report/report.hpp"

namespace cellot::cli {

int cmd_report(int argc, char** argv, Runtime& rt) {
  CommandSpec spec;
  spec.name = "report";
  spec.usage = "cellot report --store results.h5 [--format md|csv|tex] [--metrics a,b] [--compare other.h5] [--out F]";
  spec.description =
      "Benchmark tables from a store: per perturbation x model each metric as mean +- sd over seeds and folds,\n"
      "the best per column marked (bold in md/tex, a flag column in csv), the mean over perturbations, the\n"
      "coefficient of variation across seeds, and with --compare the largest differences between matching\n"
      "tasks of two stores. Only done tasks with a valid checksum are used; the others (failed, diverged, never\n"
      "finished) are counted in a warning at the top and listed with their messages, in every format. With\n"
      "--compare, every format also says whether the plans (hash) and the data (fingerprint) are the same, and\n"
      "lists the tasks in one store only or done in one only.";
  spec.uses_config = false;
  spec.options.add_options()("store,s", po::value<std::string>(), "results store")(
      "format,f", po::value<std::string>()->default_value("md"), "md | csv | tex")(
      "metrics,m", po::value<std::string>()->default_value(""), "comma list of metrics (default: all in the store)")(
      "compare", po::value<std::string>(), "a second store of the same screen")("out,o", po::value<std::string>(),
                                                                                "write to this file instead of stdout");
  Config cfg;
  auto cl = parse(spec, argc, argv, cfg, rt);
  if (!cl) return kExitOk;
  require(*cl, "store");
  if (rt.world_rank() != 0) return kExitOk;
  const auto format = cl->get<std::string>("format");
  if (format != "md" && format != "csv" && format != "tex")
    throw InputError("command line", "--format", format, "must be one of md|csv|tex");
  io::Store store = io::Store::open(cl->get<std::string>("store"), MPI_COMM_NULL, false);
  const io::StoreSummary s = store.summary();
  const auto metrics = report::select_metrics(s, split_list(cl->get<std::string>("metrics")));
  std::string text;
  if (cl->has("compare")) {
    io::Store other = io::Store::open(cl->get<std::string>("compare"), MPI_COMM_NULL, false);
    const io::StoreSummary o = other.summary();
    text = report::render(format, s, metrics, &o);
  } else {
    text = report::render(format, s, metrics);
  }
  if (cl->has("out")) {
    const auto path = cl->get<std::string>("out");
    std::ofstream out(path);
    if (!out) throw InputError("command line", "--out", path, "cannot write");
    out << text;
    if (!out) throw RuntimeError(path + ": write failed");
  } else {
    std::cout << text << std::flush;
  }
  return kExitOk;
}

}  // namespace cellot::cli
