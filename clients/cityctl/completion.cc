#include <map>
#include <sstream>

#include "clients/cityctl/cli.h"

namespace cityhub::cityctl {
namespace {

// Every command path ("" for the root, "services apply") with its subcommands and options.
void Walk(CLI::App* app, const std::string& path,
          std::map<std::string, std::pair<std::string, std::string>>* out) {
  std::string children, options;
  for (CLI::App* sub : app->get_subcommands([](CLI::App*) { return true; })) {
    children += (children.empty() ? "" : " ") + sub->get_name();
    Walk(sub, path.empty() ? sub->get_name() : path + " " + sub->get_name(), out);
  }
  for (const CLI::Option* option : app->get_options()) {
    for (const std::string& name : option->get_snames()) options += " -" + name;
    for (const std::string& name : option->get_lnames()) options += " --" + name;
  }
  (*out)[path] = {children, options};
}

}  // namespace

std::string BashCompletion(CLI::App& app) {
  std::map<std::string, std::pair<std::string, std::string>> tree;
  Walk(&app, "", &tree);
  std::ostringstream s;
  s << "# bash completion for cityctl: source <(cityctl completion bash)\n"
       "declare -gA _cityctl_commands=(\n";
  for (const auto& [path, entry] : tree) s << "  [\"" << path << "\"]=\"" << entry.first << "\"\n";
  s << ")\ndeclare -gA _cityctl_options=(\n";
  for (const auto& [path, entry] : tree) s << "  [\"" << path << "\"]=\"" << entry.second << "\"\n";
  s << ")\n"
       "_cityctl() {\n"
       "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
       "  local path=\"\" word next i\n"
       "  case \"$prev\" in\n"
       "    -f|--file|--password-file) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
       "    -o|--output) COMPREPLY=($(compgen -W \"table json yaml\" -- \"$cur\")); return ;;\n"
       "  esac\n"
       "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
       "    word=\"${COMP_WORDS[i]}\"\n"
       "    next=\"${path:+$path }$word\"\n"
       "    [[ -n \"${_cityctl_commands[$next]+set}\" ]] && path=\"$next\"\n"
       "  done\n"
       "  local global=\"${_cityctl_options[\"\"]}\"\n"
       "  if [[ \"$cur\" == -* ]]; then\n"
       "    COMPREPLY=($(compgen -W \"${_cityctl_options[$path]} $global\" -- \"$cur\"))\n"
       "  else\n"
       "    COMPREPLY=($(compgen -W \"${_cityctl_commands[$path]}\" -- \"$cur\"))\n"
       "  fi\n"
       "}\n"
       "complete -F _cityctl cityctl\n";
  return s.str();
}

}  // namespace cityhub::cityctl
