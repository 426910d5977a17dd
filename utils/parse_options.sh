#!/usr/bin/env bash
# Source this after declaring a recipe's variables:   . utils/parse_options.sh
# Every "--name value" (or "--name=value") sets the variable "name" (dashes become
# underscores) when the recipe declared it; an unknown option is an error, not a silent no-op.
# Parsing stops at the first argument that is not an option; those stay in "$@".
while [ $# -gt 0 ]; do
  case "$1" in
    --help|-h)
      echo "Usage: $0 [--option value ...] (options: the variables set at the top of $0)"; exit 0 ;;
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
