#!/usr/bin/env bash
# Source this after declaring a script's variables:   . utils/parse_options.sh
# Every "--name value" (or "--name=value") sets the variable "name" (dashes become
# underscores) when the script declared it; an unknown option is an error, not a silent no-op.
# A corpus recipe sets forward_options_to=<recipes/asr.sh> first: the options that script
# declares (and this one does not) are collected in the array forwarded_options, for the
# recipe to pass on. Parsing stops at the first argument that is not an option; those stay
# in "$@".
_list_options() {  # <script> [<names to leave out>]: "--name default  comment" per option
  awk -v skip=" ${2:-} " '/parse_options\.sh/ { exit }
    /^[A-Za-z_][A-Za-z0-9_]*=/ && !/^(recipe_dir|here|forward_options_to)=/ {
      n = index($0, "="); name = substr($0, 1, n - 1); v = substr($0, n + 1); c = ""
      if (index(skip, " " name " ")) next
      if (match(v, /[ \t]+# /)) { c = substr(v, RSTART); v = substr(v, 1, RSTART - 1); sub(/^[ \t]+/, "", c) }
      printf "  --%-20s %-26s %s\n", name, (v == "" ? "\"\"" : v), c }' "$1" | sed 's/ *$//'
}
_declared_in() {  # <script> <name>: does the script declare the option?
  grep -q "^$2=" "$1"
}
forwarded_options=()
while [ $# -gt 0 ]; do
  case "$1" in
    --help|-h)
      # The script's header comment, then its options with their defaults.
      awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
      echo
      echo "Options (--name value; the default as written in the script):"
      _list_options "$0"
      if [ -n "${forward_options_to:-}" ]; then
        own=$(awk '/parse_options\.sh/ { exit } /^[A-Za-z_][A-Za-z0-9_]*=/ {
                     print substr($0, 1, index($0, "=") - 1) }' "$0" | tr '\n' ' ')
        echo
        echo "Options passed on to recipes/$(basename "$forward_options_to") (its stages:" \
             "recipes/$(basename "$forward_options_to") --help):"
        _list_options "$forward_options_to" "$own"
      fi
      exit 0 ;;
    --*=*) name=${1%%=*}; value=${1#*=}; shift ;;
    --*)
      name=$1
      if [ $# -lt 2 ]; then echo "$0: option $name needs a value" >&2; exit 1; fi
      value=$2; shift 2 ;;
    *) break ;;
  esac
  name=${name#--}; name=${name//-/_}
  if ! [[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
    echo "$0: bad option name --$name" >&2; exit 1
  fi
  if [ -n "${!name+x}" ]; then
    printf -v "$name" '%s' "$value"
  elif [ -n "${forward_options_to:-}" ] && _declared_in "$forward_options_to" "$name"; then
    forwarded_options+=("--$name" "$value")
  else
    echo "$0: unknown option --$name (declare it at the top of the script)" >&2; exit 1
  fi
done
unset name value
