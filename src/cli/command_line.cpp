#include "cellot/cli/command_line.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <iostream>

#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"

namespace cellot::cli {

namespace {

// Location handed to validation code by CommandLine::with_origins; errors carrying it are
// re-raised under the origin of their key, so it never reaches the user.
const char* const kPendingOrigin = "<origin of the key>";

// The token the user typed for `option` ("--name" or "-n"): "--name value", "--name=value" or a
// sticky "-nvalue". Empty when not found (Boost may have completed an abbreviated name).
std::string raw_token(const std::vector<std::string>& args, const std::string& option) {
  if (option.empty()) return "";
  const bool is_short = option.size() == 2 && option[0] == '-' && option[1] != '-';
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == option) return i + 1 < args.size() ? args[i + 1] : "";
    if (arg.rfind(option + "=", 0) == 0) return arg.substr(option.size() + 1);
    if (is_short && arg.size() > 2 && arg.rfind(option, 0) == 0) return arg.substr(2);
  }
  return "";
}

// Every value typed for a long `option` ("--name value" or "--name=value"), in order.
std::vector<std::string> raw_tokens(const std::vector<std::string>& args, const std::string& option) {
  std::vector<std::string> out;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == option && i + 1 < args.size()) out.push_back(args[i + 1]);
    if (args[i].rfind(option + "=", 0) == 0) out.push_back(args[i].substr(option.size() + 1));
  }
  return out;
}

// Boost's "the argument ('X') for option '--y' is invalid": X (fallback for raw_token).
std::string quoted_argument(const std::string& what) {
  const auto b = what.find("('");
  const auto e = what.find("')", b == std::string::npos ? 0 : b + 2);
  if (b == std::string::npos || e == std::string::npos) return "";
  return what.substr(b + 2, e - b - 2);
}

// What an option's value must look like, from its declared type.
std::string expected_value(const po::options_description& desc, const std::string& option) {
  // Long names are looked up without their dashes, short ones ("-p") with theirs.
  const std::string name = option.rfind("--", 0) == 0 ? option.substr(2) : option;
  const po::option_description* d = desc.find_nothrow(name, false);
  if (!d) return "a valid value";
  const po::value_semantic* s = d->semantic().get();
  if (dynamic_cast<const po::typed_value<bool>*>(s)) return "true or false (also yes|no, on|off, 1|0)";
  if (dynamic_cast<const po::typed_value<std::uint64_t>*>(s)) return "a non-negative integer";
  if (dynamic_cast<const po::typed_value<int>*>(s) || dynamic_cast<const po::typed_value<std::int64_t>*>(s))
    return "an integer";
  if (dynamic_cast<const po::typed_value<double>*>(s)) return "a number";
  return "a valid value";
}

// InputError's message without its "where: key = 'value': " prefix (see core/error.cpp).
std::string message_of(const InputError& e) {
  std::string prefix = e.where();
  if (!e.key().empty()) prefix += ": " + e.key();
  if (!e.value().empty() || !e.key().empty()) prefix += " = '" + e.value() + "'";
  prefix += ": ";
  for (char& c : prefix)
    if (c == '\n' || c == '\r') c = ' ';
  const std::string what = e.what();
  return what.rfind(prefix, 0) == 0 ? what.substr(prefix.size()) : what;
}

}  // namespace

std::string CommandLine::token(const std::string& option) const { return raw_token(args, option); }

std::string CommandLine::origin_of(const std::string& key) const {
  if (given_on_command_line(key)) return "command line";
  if (!config_path.empty() && has(key)) return config_path;
  return "default";
}

void CommandLine::with_origins(const std::function<void(const std::string& origin)>& check) const {
  try {
    check(kPendingOrigin);
  } catch (const InputError& e) {
    if (e.where() != kPendingOrigin && e.where() != "config") throw;
    const std::string origin = origin_of(e.key());
    const std::string key = origin == "command line" && !e.key().empty() ? "--" + e.key() : e.key();
    throw InputError(origin, key, e.value(), message_of(e));
  }
}

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
  cl.args.assign(argv, argv + argc);
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(spec.positional).run(), cl.vm);
  } catch (const po::unknown_option& e) {
    throw InputError("command line", e.get_option_name(), "", "unknown option for 'cellot " + spec.name + "'");
  } catch (const po::validation_error& e) {
    // The value as typed (Boost's message holds it only inside a sentence).
    const std::string option = e.get_option_name();
    std::string value = cl.token(option);
    if (value.empty()) value = quoted_argument(e.what());
    throw InputError("command line", option, value, "invalid value: expected " + expected_value(all, option));
  } catch (const po::multiple_occurrences& e) {
    const std::string option = e.get_option_name();
    const std::vector<std::string> values = raw_tokens(cl.args, option);
    throw InputError("command line", option, values.empty() ? "" : values.front(),
                     "given more than once" + (values.size() > 1 ? " (again as '" + values[1] + "')" : std::string()) +
                         "; keep one");
  } catch (const po::too_many_positional_options_error&) {
    throw InputError("command line", "", "", "too many positional arguments for 'cellot " + spec.name + "'");
  } catch (const po::error& e) {
    throw InputError("command line", "", "", e.what());
  }
  // Before the file's values join the map: what the command line set (it wins over the file).
  for (const auto& [name, value] : cl.vm)
    if (!value.defaulted()) cl.on_command_line.insert(name);
  // Boost converts "-1" to an unsigned type by wrapping it (a seed of 2^64 - 1): refuse it.
  for (const auto& name : cl.on_command_line)
    refuse_negative_unsigned(all, name, cl.token("--" + name), "command line", "--" + name);

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
    // Notifiers convert optional values ("auto" or a number) and name their key as "config".
    cl.with_origins([&](const std::string&) { po::notify(cl.vm); });
  } catch (const InputError&) {
    throw;
  } catch (const po::error& e) {
    throw InputError(cl.config_path.empty() ? "command line" : cl.config_path, "", "", e.what());
  }
  cl.quiet = cl.vm.count("quiet") > 0;
  if (cl.quiet) log::set_level(log::Level::quiet);
  if (cl.vm.count("verbose")) log::set_level(log::Level::debug);
  if (spec.uses_config) cl.with_origins([&](const std::string& origin) { validate(cfg, origin); });
  return cl;
}

void require(const CommandLine& cl, const std::string& option) {
  if (!cl.vm.count(option)) throw InputError("command line", "--" + option, "", "is required");
}

void check_output_file(const std::string& path, const std::string& option, const std::string& where) {
  if (path.empty() || path.back() == '/') throw InputError(where, option, path, "not a file name");
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw InputError(where, option, path, "output directory '" + dir + "' does not exist");
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    throw InputError(where, option, path, "is a directory, not a file");
  // Checked before any work: a run that fails at its last step loses the work, not the file.
  if (::access(dir.c_str(), W_OK) != 0)
    throw InputError(where, option, path, "output directory '" + dir + "' is not writable");
}

}  // namespace cellot::cli
