"""Name, e-mail and phone material for Lima customers (Peruvian names, some foreign ones)."""

from __future__ import annotations

PERUVIAN_FEMALE = (
    "María", "Rosa", "Carmen", "Ana", "Lucía", "Milagros", "Claudia", "Patricia", "Jessica",
    "Karina", "Gabriela", "Andrea", "Valeria", "Camila", "Daniela", "Fiorella", "Fernanda",
    "Sofía", "Alejandra", "Mariana", "Paola", "Diana", "Silvia", "Elena", "Gloria", "Juana",
    "Luz", "Verónica", "Mónica", "Sandra", "Carla", "Katherine", "Yesenia", "Liliana", "Roxana",
    "Sheyla", "Nataly", "Giuliana", "Ximena", "Antonella", "Micaela", "Flor", "Pilar", "Teresa",
    "Isabel", "Cecilia", "Maricielo", "Rocío", "Vanessa", "Melissa", "Ruth", "Beatriz",
)
PERUVIAN_MALE = (
    "José", "Luis", "Carlos", "Juan", "Jorge", "Miguel", "César", "Víctor", "Manuel", "Pedro",
    "Ricardo", "Alberto", "Fernando", "Raúl", "Eduardo", "Óscar", "Javier", "Diego", "Renzo",
    "Gonzalo", "Sebastián", "Mateo", "Joaquín", "Santiago", "Andrés", "Gustavo", "Walter",
    "Wilmer", "Kevin", "Brayan", "Jhon", "Percy", "Julio", "Héctor", "Martín", "Alonso",
    "Rodrigo", "Álvaro", "Enrique", "Hugo", "Iván", "Christian", "Franco", "Piero", "Bruno",
    "Marco", "Aldo", "Ernesto", "Rubén", "Nicolás", "Teodoro", "Armando",
)
PERUVIAN_SURNAMES = (
    "Quispe", "Flores", "Sánchez", "García", "Rodríguez", "Rojas", "Mendoza", "Huamán",
    "Chávez", "Torres", "Ramírez", "Vargas", "Castillo", "Espinoza", "Díaz", "Gonzales",
    "Mamani", "Vásquez", "Romero", "Ramos", "Gutiérrez", "Cruz", "Reyes", "Fernández", "Salazar",
    "Morales", "Castro", "Ríos", "Paredes", "Herrera", "Cárdenas", "Aguilar", "Medina", "Silva",
    "Valdivia", "Zapata", "Palacios", "Alvarado", "Benites", "Cabrera", "Córdova", "Delgado",
    "Guerrero", "Lozano", "Mejía", "Navarro", "Ortiz", "Pacheco", "Pérez", "Ruiz", "Soto",
    "Tello", "Villanueva", "Yupanqui", "Condori", "Chumpitaz", "Tapia", "Bustamante", "Arévalo",
    "Luna", "Campos", "León", "Carrillo", "Miranda", "Salas", "Vega", "Málaga", "Wong", "Chang",
    "Nakamura", "Higa", "Tanaka", "Li", "Ccori", "Huanca", "Inga", "Poma", "Llanos", "Zegarra",
    "Olaechea", "Prado", "Belaúnde", "Barrios", "Cáceres", "Galdós", "Montoya", "Velásquez",
)
FOREIGN_FEMALE = (
    "Emily", "Sarah", "Jessica", "Laura", "Anna", "Sophie", "Emma", "Charlotte", "Hannah",
    "Olivia", "Megan", "Rachel", "Lauren", "Kate", "Chloe", "Julia", "Marie", "Giulia", "Lena",
    "Amelie", "Grace", "Natalie", "Rebecca", "Yuki",
)
FOREIGN_MALE = (
    "John", "Michael", "David", "James", "Daniel", "Thomas", "Lucas", "Oliver", "Matthew",
    "Ryan", "Andrew", "Peter", "Mark", "Tom", "Ben", "Jack", "Pierre", "Hans", "Luca", "Felix",
    "Liam", "Noah", "Kenji", "Samuel",
)
FOREIGN_SURNAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Miller", "Davis", "Wilson", "Taylor", "Anderson",
    "Moore", "Martin", "Clark", "Walker", "Hall", "Young", "King", "Wright", "Baker", "Evans",
    "Collins", "Murphy", "O'Brien", "Müller", "Schmidt", "Weber", "Rossi", "Bianchi", "Dubois",
    "Bernard", "Kim", "Nguyen", "Suzuki", "Cohen", "Jensen", "Novak", "Campbell",
)

EMAIL_DOMAINS = ("gmail.com", "hotmail.com", "outlook.com", "yahoo.com", "yahoo.es",
                 "icloud.com", "live.com")
EMAIL_DOMAIN_WEIGHTS = (0.52, 0.2, 0.09, 0.08, 0.04, 0.04, 0.03)

# Countries of Spanish-speaking customers (Lima has a large Venezuelan community) and of
# English-speaking ones (expats and visitors).
COUNTRIES_ES = ("PE", "VE", "CO", "AR", "CL", "ES", "MX")
COUNTRIES_ES_WEIGHTS = (0.88, 0.06, 0.02, 0.01, 0.01, 0.01, 0.01)
COUNTRIES_EN = ("PE", "US", "GB", "CA", "AU", "DE", "FR")
COUNTRIES_EN_WEIGHTS = (0.25, 0.35, 0.13, 0.1, 0.07, 0.05, 0.05)

WAITERS = (
    "Jorge", "Carmen", "Luis", "Milagros", "Kevin", "Rosa", "Wilmer", "Diana", "Junior",
    "Fiorella", "Gerson", "Yanina", "Marco", "Lucero", "Percy", "Sheyla", "Renato", "Maribel",
)
WAITER_FEMALE = frozenset({"Carmen", "Milagros", "Rosa", "Diana", "Fiorella", "Yanina",
                           "Lucero", "Sheyla", "Maribel"})
