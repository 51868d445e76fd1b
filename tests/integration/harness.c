/* placeholder: being written */
typedef int relais_placeholder_harness_t;
