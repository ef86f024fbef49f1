/* startup: returns at once (measures spawn + supervisor setup cost). */
int main(void) { return 0; }
