/* placeholder: being written */
typedef int relais_placeholder_cli_t;
