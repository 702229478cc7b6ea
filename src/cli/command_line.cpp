#include "cellot/cli/command_line.hpp"

#include <iostream>

#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"

namespace cellot::cli {

std::optional<CommandLine> parse(CommandSpec& spec, int argc, char** argv, Config& cfg, const Runtime& rt) {
  po::options_description generic("General");
  generic.add_options()("help,h", "show this help")("quiet,q", "no progress lines")(
      "verbose,v", "debug logging");
  if (spec.uses_config) generic.add_options()("config,c", po::value<std::string>(), "INI config file");

  po::options_description config_opts("Config keys (INI [section] key = value, or --section.key)");
  if (spec.uses_config) add_config_options(config_opts, cfg);

  po::options_description all;
  all.add(spec.options).add(generic);
  if (spec.uses_config) all.add(config_opts);

  CommandLine cl;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(spec.positional).run(), cl.vm);
  } catch (const po::unknown_option& e) {
    throw InputError("command line", e.get_option_name(), "", "unknown option for 'cellot " + spec.name + "'");
  } catch (const po::invalid_option_value& e) {
    throw InputError("command line", e.get_option_name(), "", e.what());
  } catch (const po::too_many_positional_options_error&) {
    throw InputError("command line", "", "", "too many positional arguments for 'cellot " + spec.name + "'");
  } catch (const po::error& e) {
    throw InputError("command line", "", "", e.what());
  }

  if (cl.vm.count("help")) {
    if (rt.world_rank() == 0) {
      std::cout << "usage: " << spec.usage << "\n\n" << spec.description << "\n\n" << spec.options << "\n" << generic;
      if (spec.uses_config) std::cout << "\n" << config_opts;
      std::cout << std::flush;
    }
    return std::nullopt;
  }
  if (spec.uses_config && cl.vm.count("config")) {
    cl.config_path = cl.vm["config"].as<std::string>();
    apply_config_file(cl.config_path, all, cl.vm);
  }
  try {
    po::notify(cl.vm);
  } catch (const InputError&) {
    throw;
  } catch (const po::error& e) {
    throw InputError(cl.config_path.empty() ? "command line" : cl.config_path, "", "", e.what());
  }
  cl.quiet = cl.vm.count("quiet") > 0;
  if (cl.quiet) log::set_level(log::Level::quiet);
  if (cl.vm.count("verbose")) log::set_level(log::Level::debug);
  if (spec.uses_config) validate(cfg, cl.config_path.empty() ? "command line" : cl.config_path);
  return cl;
}

void require(const CommandLine& cl, const std::string& option) {
  if (!cl.vm.count(option)) throw InputError("command line", "--" + option, "", "is required");
}

}  // namespace cellot::cli
