/* placeholder: being written */
typedef int relais_placeholder_client_t;
