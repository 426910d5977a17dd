#!/usr/bin/env bash
# Source this after declaring a recipe's variables:   . utils/parse_options.sh
# Every "--name value" (or "--name=value") sets the variable "name" (dashes become
# underscores) when the recipe declared it; an unknown option is an error, not a silent no-op.
# Parsing stops at the first argument that is not an option; those stay in "$@".
while [ $# -gt 0 ]; do
  case "$1" in
    --help|-h)
      # The script's header comment, then every option declared before this file is
      # sourced (in the script and in the defaults files it sources), with its default.
      awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
      echo
      echo "Options (--name value; the default as written in the script):"
      defaults=$(dirname "${BASH_SOURCE[0]}")/../recipes/asr_defaults.sh
      grep -q "asr_defaults\.sh" "$0" || defaults=   # a script that does not source them
      for f in ${defaults:+"$defaults"} "$0"; do
        [ -f "$f" ] && awk '/parse_options\.sh/ { exit }
          /^[A-Za-z_][A-Za-z0-9_]*=/ && !/^(recipe_dir|here)=/ {
            n = index($0, "="); v = substr($0, n + 1); c = ""
            if (match(v, /[ \t]+# /)) { c = substr(v, RSTART); v = substr(v, 1, RSTART - 1); sub(/^[ \t]+/, "", c) }
            printf "  --%-20s %-26s %s\n", substr($0, 1, n - 1), (v == "" ? "\"\"" : v), c }' "$f"
      # The last declaration of an option (a recipe overriding a shared default) wins.
      done | awk '{ if (!($1 in line)) order[++k] = $1; line[$1] = $0 }
                  END { for (i = 1; i <= k; i++) print line[order[i]] }' | sed 's/ *$//'
      exit 0 ;;
    --*=*) name=${1%%=*}; value=${1#*=}; shift ;;
    --*)
      name=$1
      if [ $# -lt 2 ]; then echo "$0: option $name needs a value" >&2; exit 1; fi
      value=$2; shift 2 ;;
    *) break ;;
  esac
  name=${name#--}; name=${name//-/_}
  if ! [[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || [ -z "${!name+x}" ]; then
    echo "$0: unknown option --$name (declare it at the top of the script)" >&2; exit 1
  fi
  printf -v "$name" '%s' "$value"
done
unset name value
