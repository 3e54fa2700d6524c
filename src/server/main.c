/* Placeholder until the server lands in this same issue. */
int main(void) { return 1; }
