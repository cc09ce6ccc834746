a
b {{ required "line2" nil }}