/* placeholder: being written */
typedef int relais_placeholder_csv_reader_t;
