{{ print
 1 }}